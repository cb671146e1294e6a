import CLibUV
import Synchronization

/// The only way into a loop from another thread: a queue guarded by a lock, rung by
/// `uv_async_send` (which libuv coalesces, so a burst of posts wakes the loop once).
final class Mailbox: Sendable {
    enum Item {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private let queue = Locked<(items: [Item], open: Bool)>(([], true))
    // nonisolated(unsafe): the pointer never changes, and `uv_async_send` is the one libuv call
    // documented as safe from any thread; everything else on the handle runs on the loop's thread.
    nonisolated(unsafe) let handle: UnsafeMutablePointer<uv_async_t>

    /// `owner` is stored in the handle so the async callback can find its loop.
    init(loop: UnsafeMutablePointer<uv_loop_t>, owner: UnsafeMutableRawPointer,
         callback: @convention(c) (UnsafeMutablePointer<uv_async_t>?) -> Void) {
        handle = .allocate(capacity: 1)
        uv_async_init(loop, handle, callback)
        handle.pointee.data = owner
    }

    /// Returns false when the loop has stopped and the item was not queued.
    @discardableResult
    func post(_ item: Item) -> Bool {
        let accepted = queue.withLock { state -> Bool in
            guard state.open else { return false }
            state.items.append(item)
            return true
        }
        if accepted { uv_async_send(handle) }
        return accepted
    }

    func take() -> [Item] {
        queue.withLock { state in
            let taken = state.items
            state.items.removeAll(keepingCapacity: true)
            return taken
        }
    }

    /// Refuses further posts and returns what was still queued.
    func seal() -> [Item] {
        queue.withLock { state in
            state.open = false
            let taken = state.items
            state.items = []
            return taken
        }
    }

    func closeHandle() {
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { handle in
            handle?.deallocate()
        }
    }
}
