import Courier
import CourierLoop
import Synchronization

/// Each client ID's current long-poll connection: a poll continues the run whose `cid` it
/// carries. Kept by the long-poll transport itself, so it never asks the engine which kind of
/// connection a client has.
final class LongPollRegistry: Sendable {
    private let current = Locked<[String: LongPollConnection]>([:])

    func connection(of clientID: String, cid: String) -> LongPollConnection? {
        current.withLock { connections in
            guard let found = connections[clientID], found.connectionID == cid, !found.hasEnded else { return nil }
            return found
        }
    }

    func register(_ connection: LongPollConnection) {
        current.withLock { $0[connection.clientID] = connection }
    }

    func forget(_ connection: LongPollConnection) {
        current.withLock { connections in
            if connections[connection.clientID] === connection {
                connections[connection.clientID] = nil
                connections.shrinkIfSparse()
            }
        }
    }

    func connections(on loop: EventLoop) -> [LongPollConnection] {
        current.withLock { $0.values.filter { $0.loop === loop } }
    }
}
