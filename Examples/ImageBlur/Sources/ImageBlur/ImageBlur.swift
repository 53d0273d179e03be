import ArgumentParser
import Foundation
import ZiggyMmap

@main
struct ImageBlur: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image-blur",
        abstract: "A separable Gaussian blur of an RGBA image in team-placed grids, checked against a naive 5 × 5 convolution.")

    @Option(help: "Image width in pixels.")
    var width = 3840

    @Option(help: "Image height in pixels.")
    var height = 2160

    @Option(help: "Blurs timed per version (the best is reported).")
    var repeats = 5

    @Flag(help: "Skip the MemAvailable check, to see the library's own error for a request the host cannot map.")
    var noMemoryCheck = false

    func validate() throws {
        guard (1...(1 << 24)).contains(width) else { throw ValidationError("--width must be in 1...\(1 << 24)") }
        guard (1...(1 << 24)).contains(height) else { throw ValidationError("--height must be in 1...\(1 << 24)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        do {
            try blurImage()
        } catch let error as MmapError {
            // The library's typed error says what was asked and what the kernel answered.
            FileHandle.standardError.write(Data("image-blur: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func blurImage() throws {
        let team = try Team()
        // Per pixel: the image, the blurred image and the row sums (4 + 4 + 8 B), and the naive
        // version's two byte arrays (4 + 4 B). Populating more than the host has would summon the
        // OOM killer rather than fail, so refuse up front.
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        let needed = overflow ? Int.max : pixels.multipliedReportingOverflow(by: 24).partialValue
        if !noMemoryCheck, let available = memoryAvailable(), overflow || needed > available {
            FileHandle.standardError.write(
                Data("image-blur: error: \(width) × \(height) pixels need \(needed) B, MemAvailable is \(available) B\n".utf8))
            throw ExitCode.failure
        }
        // Rows padded to whole cache lines (the default; a 3840-pixel row, 15360 B, needs none),
        // cut into blocks of whole rows on page boundaries, each on its member's node.
        var image = try team.allocate(Pixel.self, extents: [height, width])
        var blurred = try team.allocate(Pixel.self, extents: [height, width])
        var sums = try team.allocate(Wide.self, extents: [height, width])
        print("image: \(image.layout)")
        print("row sums: \(sums.layout)")
        print("blocks: \(team.blocks(of: image).map(\.description).joined(separator: "; "))")
        paint(&image, team: team)

        var best = (team: Double.infinity, one: Double.infinity)
        for _ in 0..<repeats {
            var start = ContinuousClock.now
            blurInOneThread(image, into: &blurred, sums: &sums)
            best.one = min(best.one, seconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            try blur(image, into: &blurred, sums: &sums, team: team)
            best.team = min(best.team, seconds(ContinuousClock.now - start))
        }
        let megapixels = Double(pixels) / 1e6
        print(
            String(
                format: "team (%d members, forEachBlock, 2 passes): best of %d %.2f ms, %.0f Mpixel/s", team.members.count, repeats,
                best.team * 1e3, megapixels / best.team))
        print(
            String(
                format: "one thread (same passes): best of %d %.2f ms, %.0f Mpixel/s", repeats, best.one * 1e3,
                megapixels / best.one))
        print(String(format: "ratio: team / one thread speed = %.2f×", best.one / best.team))

        let start = ContinuousClock.now
        let reference = naiveBlur(width: width, height: height)
        print(String(format: "naive 5 × 5 convolution ([UInt8], one thread): %.3f s", seconds(ContinuousClock.now - start)))
        var mismatches = 0
        var first: (x: Int, y: Int)?
        for y in 0..<height {
            for x in 0..<width {
                let p = blurred[y, x]
                let offset = (y * width + x) * 4
                if p != Pixel(reference[offset], reference[offset + 1], reference[offset + 2], reference[offset + 3]) {
                    mismatches += 1
                    first = first ?? (x, y)
                }
            }
        }
        guard mismatches == 0 else {
            print("check: FAILED: \(mismatches) pixel(s) differ from the naive convolution, the first at \(first!)")
            throw ExitCode.failure
        }
        print("check: blurred image bitwise equal to the naive 5 × 5 convolution")

        var everywhere = true
        for (name, placement) in [
            ("image", try team.placement(of: image)), ("blurred", try team.placement(of: blurred)),
            ("row sums", try team.placement(of: sums)),
        ] {
            for (k, line) in placement.description.split(separator: "\n").enumerated() {
                print("\(name) block \(k): \(line)")
            }
            everywhere = everywhere && placement.isOnBlockNodes
        }
        guard everywhere else {
            print("placement: FAILED: a block is not on its member's node")
            throw ExitCode.failure
        }
        print("placement: every block of the three grids is on its member's node")
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// MemAvailable from /proc/meminfo, in bytes (nil where the file says nothing).
func memoryAvailable() -> Int? {
    guard let handle = FileHandle(forReadingAtPath: "/proc/meminfo") else { return nil }
    defer { try? handle.close() }
    // Read to the end: /proc files report size 0, so a sized read would stop short.
    let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}
