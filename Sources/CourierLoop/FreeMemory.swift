import CLibUV

/// The C library's allocator, as far as a server needs to steer it.
package enum FreeMemory {
    /// Hands the heap's free pages back to the system. glibc keeps them after a crowd of
    /// connections has gone, so the process would stay at the crowd's size; this walks the
    /// heap (about a millisecond), so call it after many frees, not after each.
    package static func returnToSystem() {
        courier_return_free_memory()
    }
}
