import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Standard output as the commands use it: written through at once (a row
/// is seen when it is printed, also through a pipe) and redrawn in place
/// only when it is a terminal.
enum Terminal {
    /// Whether standard output is a terminal (so a line can be redrawn in place).
    static let isInteractive = isatty(STDOUT_FILENO) == 1

    /// The terminal's width in columns (80 when it cannot be told).
    static var columns: Int {
        var size = winsize()
        guard isInteractive, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Writes `text` and flushes, so the line is out even when stdout is a pipe.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `text` and a newline, flushed.
    static func line(_ text: String = "") {
        write(text + "\n")
    }

    /// Erases the screen and puts the cursor at its top left.
    static let clearScreen = "\u{1B}[H\u{1B}[2J"
}

/// One status line that changes while work runs: redrawn in place a few
/// times a second on a terminal, printed as a new line every few seconds
/// otherwise (a log file gets a readable trail, not a carriage-return soup).
struct LiveLine {
    private let interactive: Bool
    private let interval: Double
    private var lastDraw = -Double.infinity

    init(interactive: Bool = Terminal.isInteractive) {
        self.interactive = interactive
        interval = interactive ? 0.1 : 2
    }

    /// Shows `text()` if the last draw is old enough (`now` in seconds, monotonic).
    mutating func update(now: Double, _ text: () -> String) {
        guard now - lastDraw >= interval else { return }
        lastDraw = now
        draw(text())
    }

    /// Shows `text` as the line's final state and ends it.
    mutating func finish(_ text: String) {
        draw(text)
        if interactive { Terminal.write("\n") }
    }

    private mutating func draw(_ text: String) {
        if interactive {
            Terminal.write("\r" + String(text.prefix(max(20, Terminal.columns - 1))) + "\u{1B}[K")
        } else {
            Terminal.line(text)
        }
    }
}

/// Number and size formatting shared by the commands' tables.
enum Format {
    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// A byte count in B, KiB, MiB or GiB.
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : fixed(value, value < 10 ? 1 : 0) + " " + units[unit]
    }

    /// Seconds as "850 ms", "12.3 s" or "3 min 05 s".
    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return fixed(seconds * 1000, 0) + " ms" }
        if seconds < 120 { return fixed(seconds, 1) + " s" }
        let whole = Int(seconds.rounded())
        return "\(whole / 60) min " + String(format: "%02d", whole % 60) + " s"
    }

    /// `text` padded with spaces to `width` on the right (left-aligned), or on the left when `right`.
    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return right ? " " + text : text + " " }
        let fill = String(repeating: " ", count: width - text.count)
        return right ? fill + text : text + fill
    }
}
