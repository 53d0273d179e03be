// The element rule on the Data form of withWrapping (issue 20, item 3): a String view of a Data's
// bytes does not compile, as on every other entry point (before: it compiled and threw
// nonTrivialElement at run time, while the array and span forms trapped — no one rule).
//
// EXPECT-ERROR: (error|note): .*(BitwiseCopyable|TrivialElement)
import Foundation
import ZiggyAlloc
import ZiggyFoundation

func strings() throws {
    var data = Data(count: 64)
    try UnmanagedBuffer<String>.withWrapping(&data) { (view) throws(Never) in _ = view.count }
}
