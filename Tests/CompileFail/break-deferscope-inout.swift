// Intended break (CHANGELOG 0.2.0): DeferScope.run lends its scope borrowed (so it cannot be
// swapped out); a body spelled with an explicit `inout` parameter no longer type-checks. Bodies
// that let the type be inferred (`{ scope in … }`) are unchanged.
//
// EXPECT-ERROR: error: .*(inout|borrowing|DeferScope)
import ZiggyAlloc

func old() {
    DeferScope.run { (scope: inout DeferScope) in scope.defer {} }
}
