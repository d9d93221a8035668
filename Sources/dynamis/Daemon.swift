import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `-d`: runs the node in the background as Dynomite's `dn_daemonize` does (a new session, no
/// controlling terminal, standard input and output on /dev/null, the command returning at once).
/// Forking a Swift process that may already run threads is unsafe, so the node is started
/// again as a fresh process with the same arguments, marked in its environment so that it
/// stays in the foreground of its own session.
enum Daemon {
    static let marker = "DYNAMIS_DAEMONIZED"

    /// Starts the detached node; returns the exit status for this (parent) process.
    static func detach() -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // glibc's POSIX_SPAWN_SETSID (0x80), hidden from Swift behind _GNU_SOURCE.
        posix_spawnattr_setflags(&attributes, 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let executable = "/proc/self/exe"
        let arguments = CommandLine.arguments
        var environment = ProcessInfo.processInfo.environment
        environment[marker] = "1"
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            FileHandle.standardError.write(Data("dynamis: cannot daemonize: \(String(cString: strerror(status)))\n".utf8))
            return 1
        }
        return 0
    }
}
