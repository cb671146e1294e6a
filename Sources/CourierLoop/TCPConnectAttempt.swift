import CLibUV
import Glibc

/// A connection being made to a host by name or number: the name is resolved on libuv's thread
/// pool (`uv_getaddrinfo`, so the loop never blocks on a resolver) and each address is tried in
/// turn until one accepts. `TCPStream.connect(loop:host:port:)` takes numbers only and cannot be
/// abandoned; a client with its own connect timeout needs both, since a connect to an address
/// that drops packets is otherwise left to the kernel for about two minutes.
package final class TCPConnectAttempt {
    package unowned let loop: EventLoop
    private let host: String
    private let port: Int
    private var completion: ((Result<TCPStream, UVError>) -> Void)?
    private var addresses: [sockaddr_storage] = []
    private var nextAddress = 0
    private var lastError: UVError?
    private var resolveRequest: UnsafeMutablePointer<uv_getaddrinfo_t>?
    private var connecting: TCPStream?

    /// True once the attempt has completed or was cancelled.
    package var isFinished: Bool { completion == nil }

    init(loop: EventLoop, host: String, port: Int, completion: @escaping (Result<TCPStream, UVError>) -> Void) {
        self.loop = loop
        self.host = host
        self.port = port
        self.completion = completion
    }

    /// Abandons the attempt: a resolve still queued is cancelled, a connect in progress is closed,
    /// and the completion is never called.
    package func cancel() {
        loop.assertInLoop()
        guard completion != nil else { return }
        completion = nil
        if let request = resolveRequest {
            // Fails harmlessly when the resolver thread has already started; the callback then
            // finds the attempt finished and only frees the result.
            uv_cancel(UnsafeMutableRawPointer(request).assumingMemoryBound(to: uv_req_t.self))
        }
        connecting?.close()
        connecting = nil
    }

    fileprivate func start() {
        guard (1...65_535).contains(port) else {
            finish(.failure(UVError(code: Int32(UV_EINVAL.rawValue), operation: "connect to \(host):\(port)")))
            return
        }
        var storage = sockaddr_storage()
        if Self.parseNumeric(host, port: port, into: &storage) {
            addresses = [storage]
            tryNextAddress()
            return
        }
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        // Unmanaged: the request owns one retain of the attempt, taken back exactly once, in its
        // callback (libuv calls it even when cancelled) or below when the call itself failed.
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        resolveRequest = request
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let status = uv_getaddrinfo(loop.uvLoop, request, { request, status, result in
            guard let request else { return }
            let attempt = Unmanaged<TCPConnectAttempt>.fromOpaque(request.pointee.data!).takeRetainedValue()
            request.deallocate()
            attempt.resolveRequest = nil
            attempt.resolved(status: status, result: result)
            if let result { uv_freeaddrinfo(result) }
        }, host, String(port), &hints)
        if status < 0 {
            Unmanaged<TCPConnectAttempt>.fromOpaque(request.pointee.data!).release()
            request.deallocate()
            resolveRequest = nil
            finish(.failure(UVError(code: status, operation: "resolve \(host)")))
        }
    }

    private func resolved(status: Int32, result: UnsafeMutablePointer<addrinfo>?) {
        guard completion != nil else { return }
        if status < 0 {
            finish(.failure(UVError(code: status, operation: "resolve \(host)")))
            return
        }
        var entry = result
        while let current = entry {
            if let address = current.pointee.ai_addr,
               current.pointee.ai_family == AF_INET || current.pointee.ai_family == AF_INET6 {
                var storage = sockaddr_storage()
                let length = min(Int(current.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length)) }
                addresses.append(storage)
            }
            entry = current.pointee.ai_next
        }
        if addresses.isEmpty {
            finish(.failure(UVError(code: Int32(UV_EAI_NONAME.rawValue), operation: "resolve \(host)")))
        } else {
            tryNextAddress()
        }
    }

    private func tryNextAddress() {
        guard completion != nil else { return }
        guard nextAddress < addresses.count else {
            finish(.failure(lastError ?? UVError(code: Int32(UV_ECONNREFUSED.rawValue), operation: "connect to \(host):\(port)")))
            return
        }
        var storage = addresses[nextAddress]
        nextAddress += 1
        let stream = TCPStream(loop: loop)
        connecting = stream
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        // Unmanaged: as for the resolve request; a closed stream still calls back (ECANCELED).
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                uv_tcp_connect(request, stream.handle, address) { request, status in
                    guard let request else { return }
                    let attempt = Unmanaged<TCPConnectAttempt>.fromOpaque(request.pointee.data!).takeRetainedValue()
                    request.deallocate()
                    attempt.connected(status: status)
                }
            }
        }
        if status < 0 {
            Unmanaged<TCPConnectAttempt>.fromOpaque(request.pointee.data!).release()
            request.deallocate()
            connected(status: status)
        }
    }

    private func connected(status: Int32) {
        guard let stream = connecting else { return }  // cancelled: cancel() closed it
        connecting = nil
        if status < 0 {
            stream.close()
            lastError = UVError(code: status, operation: "connect to \(host):\(port)")
            tryNextAddress()
        } else {
            finish(.success(stream))
        }
    }

    private func finish(_ result: Result<TCPStream, UVError>) {
        guard let completion else {
            if case .success(let stream) = result { stream.close() }
            return
        }
        self.completion = nil
        completion(result)
    }

    /// A numeric IPv4 or IPv6 address needs no resolver; IPv6 may come in brackets, as in URLs.
    private static func parseNumeric(_ host: String, port: Int, into storage: inout sockaddr_storage) -> Bool {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name.contains(":") {
            return withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(name, Int32(port), $0) == 0 }
            }
        }
        return withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(name, Int32(port), $0) == 0 }
        }
    }
}

extension TCPStream {
    /// Connects to `host` (a name, resolved without blocking the loop, or a numeric address) and
    /// `port`. The completion runs on the loop, once, unless the returned attempt is cancelled
    /// first. Call on the loop.
    @discardableResult
    package static func connect(loop: EventLoop, resolving host: String, port: Int,
                               _ completion: @escaping (Result<TCPStream, UVError>) -> Void) -> TCPConnectAttempt {
        loop.assertInLoop()
        let attempt = TCPConnectAttempt(loop: loop, host: host, port: port, completion: completion)
        attempt.start()
        return attempt
    }
}
