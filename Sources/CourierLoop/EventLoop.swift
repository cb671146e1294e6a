import CLibUV
import Dispatch
import Synchronization

/// One `uv_loop_t` driven by one thread. Every handle made on a loop is used only on that
/// loop's thread; other threads reach it through `execute`, which goes through the Mailbox.
/// The loop is also a Swift executor, so an `async` handler started with this loop as its
/// task executor resumes here, next to its connection, without locks.
public final class EventLoop: @unchecked Sendable {
    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    private var mailbox: Mailbox!
    private(set) var endOfIteration: EndOfIteration!
    /// Set when the loop was made with a busy-poll window; every read or mailbox delivery extends it.
    let busyPoll: BusyPoll?
    private let thread = Atomic<UInt>(0)
    private let finished = Locked<Bool>(false)
    /// Set once, as the loop finishes (see `handlesLeftOpen`).
    private let leftOpenAtStop = Locked<Int>(0)
    /// Where jobs for this executor go once the loop has stopped (see `enqueueJob`).
    private let afterStop: DispatchQueue
    private var stopHandlers: [() -> Void] = []
    private var stopping = false
    /// Shared by every stream of this loop: libuv fills it and the read callback consumes it
    /// before the next read, so idle connections own no read buffer.
    let readBuffer: UnsafeMutableRawBufferPointer
    var readBufferInUse = false

    /// Names the loop in assertion messages and logs (`courier-loop` unless given).
    public let name: String
    /// Jobs enqueued from the loop's own thread: run at the end of the current iteration with
    /// no lock, no `uv_async_send` and no extra trip through `epoll_wait` (the channel benchmark
    /// measured seven eventfd round trips per request through an async middleware without it).
    private var localJobs: [UnownedJob] = []
    private var drainHandlers: [() -> Void] = []
    /// What layers above keep per loop with no lock (the app's metrics cache), each under its
    /// owner, held strongly so that no other object can come to have its address.
    /// `@exclusivity(unchecked)`: touched only on the loop's thread, read by every measured request.
    @exclusivity(unchecked) private var locals: [(owner: AnyObject, value: AnyObject)] = []
    /// Made by the first `schedule`, on the loop thread (a timer handle belongs to its loop).
    var madeDeadlines: Deadlines?
    var deadlines: Deadlines {
        if let madeDeadlines { return madeDeadlines }
        let made = Deadlines(loop: self)
        madeDeadlines = made
        return made
    }

    /// `busyPollMicroseconds` > 0: after each read the loop keeps polling without sleeping for
    /// that long (see `BusyPoll`); 0, the default, sleeps in `epoll_wait` as soon as it is idle.
    public init(name: String = "courier-loop", busyPollMicroseconds: UInt64 = 0) {
        self.name = name
        afterStop = DispatchQueue(label: "\(name).after-stop")
        uvLoop = .allocate(capacity: 1)
        uv_loop_init(uvLoop)
        busyPoll = busyPollMicroseconds > 0 ? BusyPoll(loop: uvLoop, microseconds: busyPollMicroseconds) : nil
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        mailbox = Mailbox(loop: uvLoop, owner: Unmanaged.passUnretained(self).toOpaque()) { async in
            guard let async, let data = async.pointee.data else { return }
            Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().runMailbox()
        }
        uvLoop.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        endOfIteration = EndOfIteration(loop: uvLoop)
    }

    deinit {
        readBuffer.deallocate()
        uvLoop.deallocate()
    }

    static func from(_ loop: UnsafeMutablePointer<uv_loop_t>) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop.pointee.data!).takeUnretainedValue()
    }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()`; then closes every handle left and
    /// the loop itself, so nothing outlives it.
    public func run() {
        thread.store(UInt(pthread_self()), ordering: .releasing)
        // Unretained: the slot is cleared before run() returns, and the caller of run() holds the loop.
        pthread_setspecific(currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(currentLoopKey, nil) }
        uv_run(uvLoop, UV_RUN_DEFAULT)
        // Close whatever handles remain open; every one left is a Handle-made one (the mailbox
        // closed itself in stop()), so the shared close callback frees it and its owner.
        var leftOpen = 0
        withUnsafeMutablePointer(to: &leftOpen) { count in
            uv_walk(uvLoop, { handle, count in
                guard let handle, uv_is_closing(handle) == 0 else { return }
                count?.assumingMemoryBound(to: Int.self).pointee += 1
                uv_close(handle, Handle.closed)
            }, count)
        }
        uv_run(uvLoop, UV_RUN_DEFAULT)
        let status = uv_loop_close(uvLoop)
        precondition(status == 0, "loop \(name) closed with handles still open")
        thread.store(0, ordering: .releasing)
        leftOpenAtStop.withLock { $0 = leftOpen }
        finished.withLock { $0 = true }
    }

    /// How many handles were still open when the loop stopped (and were closed by it): a timer,
    /// a stream or a listener nobody closed. Read after `waitUntilStopped()`; tests that own every
    /// handle of a loop expect 0, as libuv's own tests check that every handle was closed.
    package var handlesLeftOpen: Int { leftOpenAtStop.withLock { $0 } }

    /// Starts a thread that runs this loop. The loop stays alive until that thread ends.
    public func startThread() {
        startDetachedThread { [self] in run() }
        while thread.load(ordering: .acquiring) == 0 && !finished.withLock({ $0 }) { sched_yield() }
    }

    /// Runs `handler` on the loop thread just before it stops (from `stop()`).
    public func onStop(_ handler: @escaping () -> Void) {
        assertInLoop()
        stopHandlers.append(handler)
    }

    /// Runs `handler` on the loop thread when the server on this loop starts a graceful
    /// shutdown: work that holds a request open by design (a waiting long-poll) lets it go, so
    /// shutdown does not wait for its deadline. Each handler runs once.
    package func onDrain(_ handler: @escaping () -> Void) {
        assertInLoop()
        drainHandlers.append(handler)
    }

    /// Runs and forgets the drain handlers; the server calls it when it begins shutting down.
    package func drain() {
        assertInLoop()
        let handlers = drainHandlers
        drainHandlers = []
        for handler in handlers { handler() }
    }

    /// Asks the loop to stop from any thread: stop handlers run, the mailbox's last items run
    /// and it is sealed, and `run()` closes the remaining handles and returns.
    public func stop() {
        execute { [self] in
            // Two stops can both be queued before either runs; closing the handles twice aborts.
            guard !stopping else { return }
            stopping = true
            let handlers = stopHandlers
            stopHandlers = []
            for handler in handlers { handler() }
            for item in mailbox.seal() { run(item) }
            runLocalJobs()
            mailbox.closeHandle()
            endOfIteration.close()
            madeDeadlines?.close()
            busyPoll?.close()
            uv_stop(uvLoop)
        }
    }

    /// Blocks the calling thread (which must not be this loop's) until `run()` has returned.
    public func waitUntilStopped() {
        precondition(!inEventLoop, "waitUntilStopped on the loop's own thread would deadlock")
        // Polls, backing off to 50 ms: a server's main thread waits here for its whole life, and
        // a 1 ms poll woke it 1,000 times a second on the cores the loops run on.
        var pause: UInt32 = 1_000
        while !finished.withLock({ $0 }) {
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    // MARK: Cross-thread work

    /// The loop running on the calling thread, if any: code that keeps per-loop resources
    /// (a Redis connection per loop) finds its own without a lock or a hop.
    public static var current: EventLoop? {
        guard let raw = pthread_getspecific(currentLoopKey) else { return nil }
        return Unmanaged<EventLoop>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The value `owner` keeps on this loop, made by `make` on first use: state that every
    /// request reads (a cache of metrics) and that would need a lock if the loops shared it.
    /// Call on the loop's thread only, and always with the same `Value` for one owner.
    package func local<Value: AnyObject>(of owner: AnyObject, _ make: () -> Value) -> Value {
        assertInLoop()
        for entry in locals where entry.owner === owner { return unsafeDowncast(entry.value, to: Value.self) }
        let made = make()
        locals.append((owner, made))
        return made
    }

    /// True when called on this loop's thread: the only place its handles may be touched.
    public var inEventLoop: Bool { thread.load(ordering: .acquiring) == UInt(pthread_self()) }

    package func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "used off its loop (\(name))", file: file, line: line)
    }

    /// Runs `work` on the loop thread. Returns false when the loop has stopped.
    @discardableResult
    public func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        mailbox.post(.closure(work))
    }

    /// Runs `work` at once when called on the loop's thread, else as `execute` does.
    @discardableResult
    package func perform(_ work: @escaping @Sendable () -> Void) -> Bool {
        guard !inEventLoop else {
            work()
            return true
        }
        return execute(work)
    }

    /// True while the loop is inside a busy-poll window, polling instead of sleeping; any
    /// thread may ask. Always false without a window.
    package var isBusyPolling: Bool { busyPoll?.isPolling ?? false }

    /// Milliseconds of the loop's clock, refreshed once per loop iteration.
    public var now: UInt64 { uv_now(uvLoop) }

    private func runMailbox() {
        busyPoll?.noteActivity()
        for item in mailbox.take() { run(item) }
    }

    /// Runs local jobs until none are left, including those the jobs themselves enqueue.
    private func runLocalJobs() {
        while !localJobs.isEmpty {
            let batch = localJobs
            localJobs = []
            for job in batch { run(.job(job)) }
        }
    }

    private func run(_ item: Mailbox.Item) {
        switch item {
        case .closure(let work): work()
        case .job(let job): job.runSynchronously(isolatedTo: asUnownedSerialExecutor(),
                                                 taskExecutor: asUnownedTaskExecutor())
        }
    }

    fileprivate func enqueueJob(_ job: UnownedJob) {
        // `inEventLoop` first: `stopping` is the loop's own, read only on its thread.
        if inEventLoop, !stopping {
            localJobs.append(job)
            if localJobs.count == 1 { endOfIteration.add { [unowned self] in runLocalJobs() } }
            return
        }
        if !mailbox.post(.job(job)) {
            // The loop is gone. A task that still prefers it (or an actor bound to it) goes on
            // one job at a time on a serial queue of its own, as it would have on the loop,
            // rather than leak suspended or run beside another of the loop's jobs.
            let executor = asUnownedSerialExecutor(), taskExecutor = asUnownedTaskExecutor()
            afterStop.async { job.runSynchronously(isolatedTo: executor, taskExecutor: taskExecutor) }
        }
    }
}

extension EventLoop: SerialExecutor, TaskExecutor {
    /// Runs `job` on the loop: from its own thread at the end of the current iteration, from any other through the mailbox. After the loop stops, jobs still run one at a time on a serial queue.
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueueJob(UnownedJob(job))
    }

    /// This loop as a serial executor, so actors and tasks can be bound to it.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// This loop as a task executor, for `Task(executorPreference:)`.
    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Two loops are the same context only when they are the same object.
    public func isSameExclusiveExecutionContext(other: EventLoop) -> Bool { self === other }

    /// Traps unless called on this loop's thread, for `assumeIsolated`.
    public func checkIsolated() {
        precondition(inEventLoop, "expected to run on loop \(name)")
    }
}

/// The thread-specific slot `EventLoop.current` reads; set while a loop runs on the thread.
private let currentLoopKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
}()
