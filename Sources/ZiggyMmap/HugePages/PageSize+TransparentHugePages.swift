import ZiggyKernel

extension PageSize {
    /// The kernel's transparent huge page (THP) settings, from `/sys/kernel/mm/transparent_hugepage`.
    public struct TransparentHugePages: Sendable, Hashable, CustomStringConvertible {
        /// `enabled`: when anonymous memory may be backed by THP.
        public enum Mode: Sendable, Hashable {
            /// Every anonymous mapping.
            case always
            /// Only regions advised `MADV_HUGEPAGE` (what ZiggyMmap's `.transparentHuge` does).
            case madvise
            /// Never: `.transparentHuge` requests fall back or fail.
            case never
            /// The kernel has no THP support.
            case unavailable

            /// The mode the kernel's `enabled` file names ("always", "madvise", "never"; "unavailable"
            /// for a kernel without THP); nil for anything else.
            package init?(kernelName: some StringProtocol) {
                switch kernelName {
                case "always": self = .always
                case "madvise": self = .madvise
                case "never": self = .never
                case "unavailable": self = .unavailable
                default: return nil
                }
            }

            /// The name the kernel uses for the mode.
            var kernelName: String {
                switch self {
                case .always: return "always"
                case .madvise: return "madvise"
                case .never: return "never"
                case .unavailable: return "unavailable"
                }
            }
        }

        public let mode: Mode
        /// `defrag`: whether a fault in an advised region compacts memory to get a huge page
        /// (`madvise`/`always`) or gives up and uses base pages (`defer`, `never`).
        public let defrag: String
        /// `hpage_pmd_size`: the THP size in bytes.
        public let pageByteCount: Int

        static let root = "/sys/kernel/mm/transparent_hugepage"

        /// The `enabled` mode alone (one file read): what an allocation needs to know.
        static func readMode() -> Mode {
            guard let enabled = Kernel.readText("\(root)/enabled") else { return .unavailable }
            return Mode(kernelName: selected(enabled)) ?? .unavailable
        }

        /// The settings now.
        public static func read() -> PageSize.TransparentHugePages {
            guard let enabled = Kernel.readText("\(root)/enabled") else {
                return PageSize.TransparentHugePages(mode: .unavailable, defrag: "", pageByteCount: 0)
            }
            return PageSize.TransparentHugePages(
                mode: Mode(kernelName: selected(enabled)) ?? .unavailable,
                defrag: Kernel.readText("\(root)/defrag").map(selected) ?? "",
                pageByteCount: Kernel.readInt("\(root)/hpage_pmd_size") ?? (2 << 20))
        }

        /// Whether `MADV_HUGEPAGE` regions can get huge pages (public as `mode == .always || mode == .madvise`).
        package var isUsable: Bool { mode == .always || mode == .madvise }

        public var description: String { "THP enabled=\(mode.kernelName) defrag=\(defrag)" }

        /// "always [madvise] never" → "madvise".
        static func selected(_ text: String) -> String {
            guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else {
                return text.trimmingWhitespace
            }
            return String(text[text.index(after: open)..<close])
        }
    }
}
