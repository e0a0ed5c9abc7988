import Conveyor
import ConveyorTestDatasets

#if canImport(Glibc)
import Glibc
#endif

/// DataLoader worker processes killed (SIGKILL), stopped and continued
/// (SIGSTOP/SIGCONT) and crashed inside a sample (SIGSEGV), with ordered and
/// unordered delivery. A kill or crash must reach the consumer as
/// `.workerDied` with its status; the failed loader must keep its state and
/// say to resume; a new loader from that state must deliver exactly the
/// batches the uninterrupted run would have. A stopped worker only delays.
public enum LoaderKillTorture {
    enum Action: CaseIterable {
        case kill, stopAndContinue, crash
    }

    static let dataset = ProbeDataset(count: 160, sleepMicroseconds: 300)

    /// A batch, as compared: its place and a digest of its bytes.
    struct Digest: Hashable {
        var epoch: Int
        var index: Int
        var indices: [Int]
        var bytes: UInt64

        init(_ batch: TensorBatch) {
            epoch = batch.epoch
            index = batch.index
            indices = batch.indices
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for tensor in batch.tensors {
                tensor.withUnsafeBytes { bytes in
                    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
                }
            }
            self.bytes = hash
        }
    }

    static func configuration(_ delivery: Delivery, executable: String, workers: WorkerBackend = .processes(2)) -> LoaderConfiguration {
        LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: workers, prefetch: 2, delivery: delivery, seed: 3,
                            batchTimeout: .seconds(30), workerExecutable: executable)
    }

    /// Runs rounds until the settings' rounds or budget are spent.
    public static func run(_ settings: TortureSettings) -> TortureReport {
        WorkerProcess.bootstrap(datasets: ProbeDataset.self)  // the consumer side registers what workers make
        return TortureReport.measuring(.loaderKill, settings) { report, random, start in
            let uninterrupted: [Digest]
            do {
                let loader = try DataLoader(describedBy: dataset, configuration(.ordered, executable: settings.executable, workers: .inline))
                var batches = loader.makeBatchIterator()
                var all: [Digest] = []
                while let batch = try batches.next() { all.append(Digest(batch)) }
                uninterrupted = all
            } catch {
                report.fault("the uninterrupted run failed: \(error)")
                return
            }
            while settings.mayContinue(round: report.rounds, since: start, minimumRounds: 6) {
                let action = Action.allCases[report.rounds % 3]
                let delivery: Delivery = (report.rounds / 3) % 2 == 0 ? .ordered : .unordered
                do {
                    try round(action, delivery, uninterrupted: uninterrupted, report: &report, random: &random,
                              executable: settings.executable)
                } catch {
                    report.fault("round \(report.rounds) (\(action), \(delivery)): \(error)")
                }
                report.rounds += 1
                if report.rounds % 100 == 0 { settings.log("loader-kill: \(report.rounds) rounds, \(report.faults.count) faults") }
            }
        return
        }
    }

    static func round(
        _ action: Action, _ delivery: Delivery, uninterrupted: [Digest], report: inout TortureReport,
        random: inout SeededRandom, executable: String
    ) throws {
        let name = "round \(report.rounds) (\(action), \(delivery))"
        var probe = dataset
        if action == .crash { probe.signalAt = Int(random.next() % UInt64(dataset.count)) }
        let loader = try DataLoader(describedBy: probe, configuration(delivery, executable: executable))
        defer { loader.stop() }
        var delivered: [Digest] = []
        var batches = loader.makeBatchIterator()
        let before = Int(random.next() % 30)
        var failure: ConveyorError?
        do throws(ConveyorError) {
            for _ in 0..<before { if let batch = try batches.next() { delivered.append(Digest(batch)) } }
            let victim = Int(random.next() % 2)
            let pid = loader.workerProcessIDs[victim]
            switch action {
            case .kill:
                kill(pid, SIGKILL)
                report.kills += 1
            case .stopAndContinue:
                kill(pid, SIGSTOP)
                usleep(UInt32(50_000 + random.next() % 150_000))
                kill(pid, SIGCONT)
            case .crash:
                break
            }
            while let batch = try batches.next() { delivered.append(Digest(batch)) }
        } catch {
            failure = error
        }
        report.itemsChecked += delivered.count
        switch (action, failure) {
        case (.stopAndContinue, nil):
            if delivered.sorted(by: { $0.index < $1.index }) != uninterrupted {
                report.fault("\(name): a stopped and continued worker changed the batches")
            }
            return
        case (.crash, nil):
            // Every sample of the epoch is made, so the crash must show.
            report.fault("\(name): the crash at sample \(probe.signalAt!) was never reported")
            return
        case (.kill, .workerDied(_, _, let status, _)?) where status == "killed by signal 9 (SIGKILL)":
            break
        case (.crash, .workerDied(_, _, let status, _)?) where status == "killed by signal 11 (SIGSEGV)":
            report.kills += 1
        case (.kill, nil):
            // The victim had finished its share before the kill reached it: nothing was lost.
            if delivered.sorted(by: { $0.index < $1.index }) != uninterrupted {
                report.fault("\(name): the batches differ though no error came")
            }
            return
        default:
            report.fault("\(name): the consumer got \(String(describing: failure))")
            return
        }
        let state = loader.state
        var again = loader.makeBatchIterator()
        do throws(ConveyorError) {
            _ = try again.next()
            report.fault("\(name): the failed loader delivered again")
        } catch {
            if !"\(error)".contains("resumingFrom") { report.fault("\(name): iterating the failed loader said '\(error)'") }
        }
        if loader.state != state { report.fault("\(name): the failed loader's state moved from \(state) to \(loader.state)") }
        loader.stop()
        let resumed = try DataLoader(describedBy: dataset, configuration(delivery, executable: executable), resumingFrom: state)
        defer { resumed.stop() }
        var rest: [Digest] = []
        var more = resumed.makeBatchIterator()
        while let batch = try more.next() { rest.append(Digest(batch)) }
        report.itemsChecked += rest.count
        let kept = delivered.filter { $0.index < state.nextBatch }
        if Set(kept.map(\.index)) != Set(0..<state.nextBatch) {
            report.fault("\(name): the state says next batch \(state.nextBatch) but not every earlier batch was delivered")
        }
        let whole = (kept + rest).sorted { $0.index < $1.index }
        if whole != uninterrupted {
            report.fault("\(name): the run plus its resumption (from \(state)) is not the uninterrupted run "
                + "(\(whole.count) batches vs \(uninterrupted.count))")
        }
        // Unordered delivery may have delivered batches past the state; they come again, identical.
        for batch in delivered where batch.index >= state.nextBatch && !rest.contains(batch) {
            report.fault("\(name): batch \(batch.index) differs when delivered again")
        }
    }
}
