import Courier
import CourierLoop
import CourierTesting
import Foundation
import Synchronization
import Testing

/// Another process holds an exclusive lock on Tic Tac Toe's database (a backup, a migration, a
/// second app): the move that needs it waits, and the server goes on answering everything
/// else on the same (single) loop meanwhile.
@Suite("TicTacToe: a locked database") struct TicTacToeLockedDatabaseTests {
    /// `python3` holding `BEGIN EXCLUSIVE` on the file until told to let go.
    final class LockHolder: @unchecked Sendable {
        // @unchecked: driven by one test at a time; the pipes are only written by `release`.
        let process = Process()
        private let input = Pipe()
        private let output = Pipe()
        private let released = Locked(false)

        init(database: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1], isolation_level=None)
                db.execute("BEGIN EXCLUSIVE")
                print("locked", flush=True)
                sys.stdin.readline()
                db.execute("COMMIT")
                print("released", flush=True)
                """, database]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            guard line.hasPrefix("locked") else { throw HarnessFailure("python3 did not lock the database: \(line)") }
        }

        /// Lets go of the lock (once) and waits until it has.
        func release() {
            guard released.withLock({ done in defer { done = true }; return !done }) else { return }
            input.fileHandleForWriting.write(Data("\n".utf8))
            process.waitUntilExit()
        }

        var isHeld: Bool { !released.withLock { $0 } }
    }

    @Test func theServerAnswersOtherRequestsWhileAMoveWaitsForTheLock() async throws {
        try await withTicTacToe(workers: 1) { server in
            let x = try await Player.signedIn("x@example.com", port: server.port)
            #expect(try await x.open().status == 200)
            let key = try x.gameKey
            let lock = try LockHolder(database: server.databasePath)
            defer { lock.release() }
            let seen = Observations()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let moved = try await x.move(key, 4)
                    seen.append("move \(moved.status)")
                }
                group.addTask {
                    // The move is under way (give it a moment to reach SQLite), then a page
                    // that needs no database, on another connection to the same loop.
                    try await Task.sleep(for: .milliseconds(200))
                    let other = try await TestClient(port: server.port).get("/_ah/channel/jsapi")
                    seen.otherWhileLocked(lock.isHeld)
                    seen.append("jsapi \(other.status)")
                    lock.release()
                }
                group.addTask {
                    // Bounded: a server stuck behind the lock would never answer the other
                    // request, so the lock goes after 4 s whatever happened (the move's busy
                    // timeout is 5 s).
                    try? await Task.sleep(for: .seconds(4))
                    lock.release()
                }
                // The move and the other request; then the watchdog is not needed.
                try await group.next()
                try await group.next()
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(seen.answeredWhileLocked == true, "the other request was answered only after the lock went")
            #expect(seen.order == ["jsapi 200", "move 200"])
            #expect(try await server.storedGame(key)?.board == "    X    ", "the move went through once the lock went")
        }
    }
}

/// What the tasks of one test saw, in order.
final class Observations: Sendable {
    private let state = Locked<(order: [String], whileLocked: Bool?)>(([], nil))
    func append(_ event: String) { state.withLock { $0.order.append(event) } }
    func otherWhileLocked(_ held: Bool) { state.withLock { $0.whileLocked = held } }
    var order: [String] { state.withLock { $0.order } }
    var answeredWhileLocked: Bool? { state.withLock { $0.whileLocked } }
}
