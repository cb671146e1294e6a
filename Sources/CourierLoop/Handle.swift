import CLibUV

/// libuv frees nothing: a handle's memory may be released only in its close callback. Every
/// handle here keeps its Swift owner retained through `data` from init to that callback, so an
/// owner can never be deinitialised while libuv still points at it.
enum Handle {
    static func retain<T: AnyObject, H>(_ owner: T, in handle: UnsafeMutablePointer<H>) {
        raw(handle).pointee.data = Unmanaged.passRetained(owner).toOpaque()
    }

    static func owner<T: AnyObject, H>(_ type: T.Type, of handle: UnsafeMutablePointer<H>) -> T {
        Unmanaged<T>.fromOpaque(raw(handle).pointee.data!).takeUnretainedValue()
    }

    static func raw<H>(_ handle: UnsafeMutablePointer<H>) -> UnsafeMutablePointer<uv_handle_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
    }

    /// Closes the handle; its memory and the retain on its owner go in the close callback.
    static func close<H>(_ handle: UnsafeMutablePointer<H>) {
        let base = raw(handle)
        guard uv_is_closing(base) == 0 else { return }
        uv_close(base, closed)
    }

    /// Frees a handle made by this module: releases its owner and its memory.
    static let closed: @convention(c) (UnsafeMutablePointer<uv_handle_t>?) -> Void = { base in
        guard let base else { return }
        if let data = base.pointee.data { Unmanaged<AnyObject>.fromOpaque(data).release() }
        base.deallocate()
    }
}
