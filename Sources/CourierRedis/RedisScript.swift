import Crypto

/// A Lua script run by its SHA-1 (`EVALSHA`), so the source crosses the network only when
/// Redis does not have it cached: after a restart or a `SCRIPT FLUSH`, the `NOSCRIPT` error is
/// answered with one `EVAL`, which also caches it again, and the caller sees a single reply.
///
/// A fallback `EVAL` is sent when the `NOSCRIPT` reply arrives, so it runs after commands sent
/// in the meantime on this connection. Scripts whose effects must stay in sending order (the
/// channel engine's XADD + PUBLISH) keep that order only when every one of them falls back
/// together, which is what happens after a flush; a caller that needs more preloads with
/// `SCRIPT LOAD` when it connects.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source, sent only with `SCRIPT LOAD` or a fallback `EVAL`.
    public let source: String
    /// Lowercase hex, as `SCRIPT LOAD` returns it.
    public let sha1: String

    /// Hashes `source` once; make scripts once (as static constants) rather than per call.
    public init(_ source: String) {
        self.source = source
        sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

extension RedisConnection {
    /// Runs `script` on the loop; `completion` gets the script's reply.
    ///
    /// Scripts run in the order they were issued, like any pipelined command. The first use of
    /// a script on a connection sends `SCRIPT LOAD` ahead of its `EVALSHA`, in the same pipeline:
    /// answering a `NOSCRIPT` by sending `EVAL` afterwards would let later `EVALSHA`s of the
    /// pipeline (run once the `EVAL` loaded the script) overtake it, and two sends to one client
    /// would swap. `EVAL` remains the fallback for a script flushed while connected.
    public func run(_ script: RedisScript, keys: [[UInt8]] = [], arguments: [[UInt8]] = [], timeout: Duration? = nil,
                    completion: @escaping Completion) {
        if loadedScripts.insert(script.sha1).inserted {
            send([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)], timeout: timeout) { _ in }
        }
        let tail = [Array(String(keys.count).utf8)] + keys + arguments
        send([Array("EVALSHA".utf8), Array(script.sha1.utf8)] + tail, timeout: timeout) { [self] result in
            if case .failure(.server(let message)) = result, message.hasPrefix("NOSCRIPT") {
                loadedScripts.remove(script.sha1)
                send([Array("EVAL".utf8), Array(script.source.utf8)] + tail, timeout: timeout, completion: completion)
            } else {
                completion(result)
            }
        }
    }

    /// Runs `script` from any thread.
    public func run(_ script: RedisScript, keys: [String] = [], arguments: [String] = [],
                    timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        try await run(script, keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) }, timeout: timeout)
    }

    /// Runs `script` with binary keys and arguments from any thread and waits for its reply; cancelling the task does not recall it.
    public func run(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]],
                    timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<RESPValue, RedisError>, Never>) in
            let posted = runOnLoop { [self] in
                run(script, keys: keys, arguments: arguments, timeout: timeout) { continuation.resume(returning: $0) }
            }
            if !posted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }
}
