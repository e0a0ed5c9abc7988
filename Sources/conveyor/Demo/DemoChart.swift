import Foundation

/// The demo's chart as a standalone SVG: on the left the time the training
/// loop waited for each batch, per mode (slow while a prefetching queue is
/// empty, then nearly nothing), on the right each mode's epoch time.
struct DemoChart {
    let results: [DemoResult]
    let workload: DemoWorkload

    private let width = 1200.0
    private let height = 600.0
    /// The batch plot's area.
    private let plot = (left: 90.0, top: 130.0, right: 800.0, bottom: 520.0)
    /// The epoch-time bars' area.
    private let bars = (left: 900.0, top: 130.0, right: 1170.0, bottom: 520.0)

    var svg: String {
        var out = SVGWriter(width: width, height: height)
        out.text("Conveyor demo: how long the training loop waits for each batch", x: plot.left - 50, y: 36,
                 size: 22, weight: "bold")
        out.text(workload.summary.data + "; " + workload.summary.costs, x: plot.left - 50, y: 62, size: 13, fill: "#444")
        legend(&out)
        batchPlot(&out)
        epochBars(&out)
        return out.document
    }

    private func legend(_ out: inout SVGWriter) {
        var x = plot.left - 50
        for result in results {
            out.rect(x: x, y: 84, width: 26, height: 6, fill: result.mode.colour)
            let text = result.label + ": data stall " + Format.fixed(result.dataStallShare * 100, 0) + "%"
            out.text(text, x: x + 34, y: 92, size: 14)
            x += 34 + Double(text.count) * 7.6 + 36
        }
    }

    // MARK: Time to get each batch

    private func batchPlot(_ out: inout SVGWriter) {
        let count = results.map(\.fetchSeconds.count).max() ?? 0
        guard count > 0 else { return }
        let milliseconds = results.map { $0.fetchSeconds.map { $0 * 1000 } }
        // The scale fits the typical waits; the few slow first batches are drawn at the top and labelled.
        let typical = milliseconds.map { percentile($0, 0.98) }.max() ?? 1
        let yTicks = Ticks(upTo: max(1, typical * 1.15))
        let xTicks = Ticks(upTo: Double(count))
        let xTop = Double(max(1, count - 1))
        func x(_ index: Double) -> Double { plot.left + index / xTop * (plot.right - plot.left) }
        func y(_ value: Double) -> Double { plot.bottom - min(value, yTicks.top) / yTicks.top * (plot.bottom - plot.top) }

        axes(&out, area: plot, yTicks: yTicks, yLabel: "time to get the batch (ms)", format: { Format.fixed($0, yTicks.decimals) })
        for value in xTicks.values where value <= xTop {
            out.line(x1: x(value), y1: plot.bottom, x2: x(value), y2: plot.bottom + 5, stroke: "#333")
            out.text(Format.fixed(value, 0), x: x(value), y: plot.bottom + 22, size: 13, anchor: "middle")
        }
        out.text("batch index (epochs one after another)", x: (plot.left + plot.right) / 2, y: plot.bottom + 50,
                 size: 15, anchor: "middle")
        out.text("thin: each batch; bold: median of 9 batches", x: plot.right, y: plot.top - 8, size: 12,
                 anchor: "end", fill: "#666")
        // Epoch boundaries.
        for epoch in 1..<workload.epochs {
            let boundary = x(Double(epoch * workload.batchesPerEpoch) - 0.5)
            out.line(x1: boundary, y1: plot.top, x2: boundary, y2: plot.bottom, stroke: "#999", dash: "5 4")
            out.text("epoch \(epoch + 1) →", x: boundary + 4, y: plot.top - 8, size: 12, fill: "#666")
        }
        var prefetched: [String] = []
        // Each batch thin and faint; the running median of 9 batches bold, so the trend reads at a glance.
        for (result, series) in zip(results, milliseconds) {
            let points = series.enumerated().map { (x(Double($0.offset)), y($0.element)) }
            out.polyline(points, stroke: result.mode.colour, width: 0.8, opacity: 0.35)
        }
        for (result, series) in zip(results, milliseconds) {
            let median = runningMedian(series, window: 9)
            let points = median.enumerated().map { (x(Double($0.offset)), y($0.element)) }
            out.polyline(points, stroke: result.mode.colour, width: 2.4, series: result.mode.rawValue)
            if result.mode != .inline, percentile(series, 0.5) < yTicks.top * 0.05 {
                prefetched.append(result.mode.rawValue)
            }
            if let peak = series.indices.max(by: { series[$0] < series[$1] }), series[peak] > yTicks.top {
                out.text("▲ " + Format.fixed(series[peak], 0) + " ms", x: x(Double(peak)) + 6, y: plot.top + 14 + 16 * Double(result.mode.order),
                         size: 12, fill: result.mode.colour, weight: "bold")
            }
        }
        if !prefetched.isEmpty {
            out.text("\(prefetched.joined(separator: " and ")): the next batch is already waiting (≈ 0 ms)",
                     x: (plot.left + plot.right) / 2, y: y(0) - 10, size: 13, anchor: "middle", fill: "#222")
        }
    }

    // MARK: Epoch time per mode

    private func epochBars(_ out: inout SVGWriter) {
        let seconds = results.map(\.meanEpochSeconds)
        let ticks = Ticks(upTo: max(0.001, (seconds.max() ?? 1) * 1.12))
        axes(&out, area: bars, yTicks: ticks, yLabel: "seconds per epoch (mean)", format: { Format.fixed($0, ticks.decimals) })
        let baseline = results.first { $0.mode == .inline }?.meanEpochSeconds
        let slot = (bars.right - bars.left) / Double(max(1, results.count))
        for (index, result) in results.enumerated() {
            let barHeight = result.meanEpochSeconds / ticks.top * (bars.bottom - bars.top)
            let left = bars.left + slot * Double(index) + slot * 0.18
            let barWidth = slot * 0.64
            out.rect(x: left, y: bars.bottom - barHeight, width: barWidth, height: barHeight, fill: result.mode.colour)
            out.text(Format.fixed(result.meanEpochSeconds, 2) + " s", x: left + barWidth / 2, y: bars.bottom - barHeight - 8,
                     size: 13, anchor: "middle", weight: "bold")
            if let baseline, result.mode != .inline, result.meanEpochSeconds > 0 {
                out.text(Format.fixed(baseline / result.meanEpochSeconds, 1) + "× faster", x: left + barWidth / 2,
                         y: bars.bottom - barHeight - 24, size: 12, anchor: "middle", fill: "#333")
            }
            out.text(result.mode.rawValue, x: left + barWidth / 2, y: bars.bottom + 22, size: 13, anchor: "middle")
        }
        out.text("epoch time (steps included)", x: (bars.left + bars.right) / 2, y: bars.bottom + 50, size: 15,
                 anchor: "middle")
    }

    /// A frame, horizontal grid lines with their values, and the y label.
    private func axes(
        _ out: inout SVGWriter, area: (left: Double, top: Double, right: Double, bottom: Double), yTicks: Ticks,
        yLabel: String, format: (Double) -> String
    ) {
        for value in yTicks.values {
            let y = area.bottom - value / yTicks.top * (area.bottom - area.top)
            out.line(x1: area.left, y1: y, x2: area.right, y2: y, stroke: value == 0 ? "#333" : "#e3e3e3")
            out.text(format(value), x: area.left - 8, y: y + 4, size: 13, anchor: "end")
        }
        out.line(x1: area.left, y1: area.top, x2: area.left, y2: area.bottom, stroke: "#333")
        out.text(yLabel, x: area.left - 58, y: (area.top + area.bottom) / 2, size: 15, anchor: "middle",
                 rotate: -90)
    }

    /// The median of the `window` values centred on each index (fewer at the ends).
    private func runningMedian(_ values: [Double], window: Int) -> [Double] {
        values.indices.map { index in
            let low = max(0, index - window / 2), high = min(values.count, index + window / 2 + 1)
            let sorted = values[low..<high].sorted()
            return sorted[sorted.count / 2]
        }
    }

    private func percentile(_ values: [Double], _ share: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * share))]
    }
}

extension DemoMode {
    /// The mode's place in the legend and in the labels' stack.
    var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

/// Round tick values from 0 up to at least a maximum: steps of 1, 2 or 5 × 10ⁿ.
struct Ticks {
    let step: Double
    let top: Double

    init(upTo maximum: Double) {
        let rough = maximum / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        self.step = step
        top = (maximum / step).rounded(.up) * step
    }

    var values: [Double] { stride(from: 0, through: top + step / 2, by: step).map { $0 } }
    /// Decimals the labels need.
    var decimals: Int { max(0, -Int(floor(log10(step)))) }
}

/// A small SVG document builder: the shapes the demo chart uses, with text escaped.
struct SVGWriter {
    private var body: [String] = []
    let width: Double
    let height: Double

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
        body.append(#"<rect width="100%" height="100%" fill="white"/>"#)
    }

    var document: String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" \
        font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    mutating func text(
        _ content: String, x: Double, y: Double, size: Double, anchor: String = "start", fill: String = "#111",
        weight: String = "normal", rotate: Double? = nil
    ) {
        let transform = rotate.map { #" transform="rotate(\#(n($0)) \#(n(x)) \#(n(y)))""# } ?? ""
        body.append(#"<text x="\#(n(x))" y="\#(n(y))" font-size="\#(n(size))" text-anchor="\#(anchor)" fill="\#(fill)" "#
            + #"font-weight="\#(weight)"\#(transform)>\#(escaped(content))</text>"#)
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, dash: String? = nil) {
        let dashing = dash.map { #" stroke-dasharray="\#($0)""# } ?? ""
        body.append(#"<line x1="\#(n(x1))" y1="\#(n(y1))" x2="\#(n(x2))" y2="\#(n(y2))" stroke="\#(stroke)"\#(dashing)/>"#)
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String) {
        body.append(#"<rect x="\#(n(x))" y="\#(n(y))" width="\#(n(width))" height="\#(n(max(0, height)))" fill="\#(fill)"/>"#)
    }

    /// A line through `points`; a named one is tagged `data-series="NAME"`.
    mutating func polyline(
        _ points: [(Double, Double)], stroke: String, width: Double, opacity: Double = 1, series: String? = nil
    ) {
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        let tag = series.map { #" data-series="\#(escaped($0))""# } ?? ""
        body.append(#"<polyline points="\#(list)" fill="none" stroke="\#(stroke)" stroke-width="\#(n(width))" "#
            + #"stroke-opacity="\#(Format.fixed(opacity, 2))" stroke-linejoin="round"\#(tag)/>"#)
    }

    private func n(_ value: Double) -> String { Format.fixed(value, 1) }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
