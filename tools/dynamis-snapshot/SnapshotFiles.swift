#if canImport(Glibc)
import Glibc
#endif

/// An input snapshot mapped read-only into memory: the OS pages it in as the reader walks it,
/// so a file larger than memory still imports.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ToolError("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ToolError("cannot stat '\(path)'") }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ToolError("cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        madvise(p, size, MADV_SEQUENTIAL)
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base { munmap(base, bytes.count) }
    }
}

/// An output file written under a temporary name and renamed into place only when complete,
/// so a failed or interrupted export never leaves something that looks like a snapshot.
final class OutputFile {
    let path: String
    private let temporary: String
    private var fd: Int32
    private(set) var written = 0

    init(path: String) throws {
        self.path = path
        temporary = path + ".partial"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ToolError("cannot create '\(temporary)': \(String(cString: strerror(errno)))") }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ToolError("write to '\(temporary)' failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        written += bytes.count
    }

    /// fsyncs and renames into place.
    func commit() throws {
        guard fsync(fd) == 0 else { throw ToolError("fsync of '\(temporary)' failed: \(String(cString: strerror(errno)))") }
        Glibc.close(fd)
        fd = -1
        guard rename(temporary, path) == 0 else { throw ToolError("cannot rename '\(temporary)' to '\(path)': \(String(cString: strerror(errno)))") }
    }

    func abandon() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        unlink(temporary)
    }
}
