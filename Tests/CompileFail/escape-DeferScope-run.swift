// Issue 9, defect 1 (audit of closure-scoped APIs): the scope `DeferScope.run` lends to its body
// can be swapped with an outer scope, so the actions registered in `run` run late — when the
// outer variable ends, after `run` has returned. The fix must make this not compile.
//
// EXPECT-ERROR: error: .*(scap|lifetime|borrow|immutable|inout)
// RUN-IF-IT-COMPILES: the program below prints the order in which things happen.
import ZiggyAlloc

final class Log { var lines: [String] = [] }

func lateActions(_ log: Log) {
    var outer = DeferScope()
    DeferScope.run { scope in
        scope.defer { log.lines.append("run's cleanup action") }
        swap(&outer, &scope)   // the escape
    }
    log.lines.append("DeferScope.run returned")
}   // `outer` ends here, running run's action late

let log = Log()
lateActions(log)
print("order: \(log.lines)")
if log.lines.first == "DeferScope.run returned" { print("LATE: run's cleanup ran after run returned") }
