/// Runs torture parts and sums them up.
public enum TortureSuite {
    /// Runs `part` with `settings` (its own seed derived from theirs).
    public static func run(_ part: TorturePart, _ settings: TortureSettings) -> TortureReport {
        let settings = settings.forPart(part)
        switch part {
        case .ringKill: return RingKillTorture.run(settings)
        case .consumerKill: return ConsumerKillTorture.run(settings)
        case .loaderKill: return LoaderKillTorture.run(settings)
        case .attachFuzz: return AttachFuzzTorture.run(settings)
        case .soak: return SoakTorture.run(settings)
        case .shmFull: return ShmFullTorture.run(settings)
        case .truncation: return TruncationTorture.run(settings)
        }
    }

    /// The share of a run's minutes each part gets, when all run.
    public static func share(of part: TorturePart) -> Double {
        switch part {
        case .ringKill: 0.3
        case .consumerKill: 0.1
        case .loaderKill: 0.2
        case .attachFuzz: 0.1
        case .soak: 0.3
        case .shmFull, .truncation: 0
        }
    }
}
