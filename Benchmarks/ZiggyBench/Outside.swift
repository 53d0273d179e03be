import Foundation
import ZiggyKernel

/// The outside programs users compare against (Benchmarks/References, our own C, built with gcc
/// `-O3 -march=native -fopenmp` by `make bench`): run as child processes in the same run as the
/// rows they judge, each sample one run, alternating with the in-process contenders.
struct OutsidePrograms {
    /// The folder holding the built programs (`--references`), or nil when none was given.
    let directory: String?

    /// Why `program` cannot run here, or nil.
    func unavailableReason(_ program: String) -> String? {
        guard let directory else {
            return "outside programs not given (make bench builds them with gcc into .build/references)"
        }
        let path = "\(directory)/\(program)"
        return access(path, X_OK) == 0 ? nil : "\(path) is not an executable (make bench builds it with gcc)"
    }

    /// Runs `program` with `arguments` and the extra `environment`, on every CPU the process may
    /// use (the calling thread may be pinned to one, and a child inherits that), and returns its
    /// standard output; throws when it fails.
    func run(_ program: String, _ arguments: [String], environment: [String: String], cpus: [Int]) throws -> String {
        if let why = unavailableReason(program) { throw OutsideError(message: why) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(directory!)/\(program)")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let previous = try? Kernel.getAffinity().get()
        _ = Kernel.setAffinity(cpus)
        defer { if let previous { _ = Kernel.setAffinity(previous) } }
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let diagnostics = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason = diagnostics.split(separator: "\n").first.map(String.init) ?? "no message"
            throw OutsideError(message: "\(program) exited with \(process.terminationStatus): \(reason)")
        }
        return text
    }

    /// The numbers of the first output line that starts with `key` (or the first line when nil).
    static func fields(_ text: String, key: String? = nil) -> [Double] {
        let lines = text.split(separator: "\n")
        guard let line = key == nil ? lines.first : lines.first(where: { $0.hasPrefix(key! + " ") }) else { return [] }
        return line.split(separator: " ").compactMap { Double($0) }
    }
}

struct OutsideError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
