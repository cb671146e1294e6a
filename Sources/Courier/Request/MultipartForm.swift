import CourierHTTP

/// A file from a `multipart/form-data` body: webapp2's `FieldStorage` with `filename` set.
///
/// Its bytes are in memory. The request body is read whole before the handler runs, within the
/// route's `maxBodyBytes` (1 MiB unless raised; over it the client gets 413 while still
/// sending), so an upload costs at most that limit again: raise the limit on the upload route
/// alone, and write big files where they belong from the handler.
public struct UploadedFile: Sendable, Equatable {
    /// The form field it was sent under (`<input type=file name=...>`).
    public var fieldName: String
    /// The name on the client's disk, as sent (`filename*` decoded when given). Untrusted: never
    /// a path to write to, it may hold `/`, `..` or anything else.
    public var filename: String
    /// The part's Content-Type, or `application/octet-stream` when it had none.
    public var contentType: String
    /// The file's content.
    public var bytes: [UInt8]

    /// A file as given, for tests.
    public init(fieldName: String, filename: String, contentType: String = "application/octet-stream", bytes: [UInt8]) {
        self.fieldName = fieldName
        self.filename = filename
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// The fields and files of a `multipart/form-data` body, in the order they were sent.
/// A part with a non-empty `filename` is a file; any other part is a field whose value is its
/// data as UTF-8, as webob made an empty file input an empty field.
public struct MultipartForm: Sendable {
    /// The text fields, by name and value.
    public var fields: [(name: String, value: String)] = []
    /// The files.
    public var files: [UploadedFile] = []

    /// An empty form.
    public init() {}

    /// Reads a whole body whose Content-Type is `contentType`.
    public static func read(_ body: [UInt8], contentType: String,
                            limits: MultipartParser.Limits = .init()) throws(MultipartError) -> MultipartForm {
        var reader = try MultipartFormReader(contentType: contentType, limits: limits)
        try reader.append(body[...])
        return try reader.finish()
    }
}

/// Builds a `MultipartForm` from a body's bytes as they arrive, in any pieces: what the parser
/// has not consumed waits for the next piece.
public struct MultipartFormReader: Sendable {
    private var parser: MultipartParser
    private var unconsumed: [UInt8] = []
    private var part: (head: MultipartPartHead, bytes: [UInt8])?
    private var form = MultipartForm()

    /// A reader for a body of `contentType`, which must be multipart/form-data with a valid boundary.
    public init(contentType: String, limits: MultipartParser.Limits = .init()) throws(MultipartError) {
        parser = MultipartParser(boundary: try MultipartBoundary.parse(contentType: contentType), limits: limits)
    }

    /// Reads the next piece of the body.
    public mutating func append(_ bytes: ArraySlice<UInt8>) throws(MultipartError) {
        if unconsumed.isEmpty {
            let consumed = try read(bytes)
            unconsumed = Array(bytes.dropFirst(consumed))
        } else {
            unconsumed += bytes
            let consumed = try read(unconsumed[...])
            unconsumed.removeFirst(consumed)
        }
    }

    /// The form, once the whole body has been appended; refuses a body cut short.
    public mutating func finish() throws(MultipartError) -> MultipartForm {
        try parser.finish()
        return form
    }

    private mutating func read(_ input: ArraySlice<UInt8>) throws(MultipartError) -> Int {
        var offset = 0
        while true {
            let (consumed, event) = try parser.next(input.dropFirst(offset))
            offset += consumed
            switch event {
            case .partBegan(let head)?:
                part = (head, [])
            case .data(let bytes)?:
                part?.bytes += bytes
            case .partEnded?:
                guard let (head, bytes) = part else { break }
                part = nil
                if let filename = head.filename, !filename.isEmpty {
                    form.files.append(UploadedFile(fieldName: head.name, filename: filename,
                                                   contentType: head.contentType ?? "application/octet-stream", bytes: bytes))
                } else {
                    form.fields.append((head.name, String(decoding: bytes, as: UTF8.self)))
                }
            case .finished?:
                break
            case nil:
                if consumed == 0 { return offset }
            }
        }
    }
}
