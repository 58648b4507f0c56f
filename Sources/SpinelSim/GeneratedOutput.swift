import Foundation
import SpinelHDL

/// Writing generated output without ever losing a user's files.
///
/// `spinel generate --out DIR` may replace DIR only when DIR is empty, missing, or Spinel's own
/// earlier output: a directory whose `manifest.json` was written by Spinel and lists every entry
/// in it. Anything else (a repository, a folder of the user's files, a file) is refused with the
/// fix, unless the user passes `--force`; even then a directory that holds a `.git` or contains
/// the working directory is refused. The new files are written to a staging directory beside DIR
/// and swapped in only when all are written; if the old output cannot be removed after the swap,
/// the swap is undone, so DIR is either the old output or the new one, never a mix, and no
/// staging or backup directory is left behind.
public enum GeneratedOutput {
    /// Why the output could not be written; the message names the path and the fix.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The file-system operations `replace` performs, replaceable so tests can make one fail
    /// (as root, a read-only directory does not stop removal).
    public struct Operations: Sendable {
        public var move: @Sendable (URL, URL) throws -> Void
        public var remove: @Sendable (URL) throws -> Void

        public init(move: @escaping @Sendable (URL, URL) throws -> Void, remove: @escaping @Sendable (URL) throws -> Void) {
            self.move = move
            self.remove = remove
        }

        public static let system = Operations(
            move: { try FileManager.default.moveItem(at: $0, to: $1) },
            remove: { try FileManager.default.removeItem(at: $0) }
        )
    }

    /// Replaces `directory` with exactly `files` (which must include the manifest).
    public static func replace(directory: URL, with files: [GeneratedFile], force: Bool = false,
                               operations: Operations = .system) throws {
        precondition(files.contains { $0.name == GeneratedManifest.fileName }, "generated output without a manifest")
        let manager = FileManager.default
        let directory = directory.standardizedFileURL
        let exists = try checkTarget(directory, force: force)
        let parent = directory.deletingLastPathComponent()
        try createParent(parent)

        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).spinel-staging-\(UUID().uuidString)")
        do {
            try OutputChecks.write(files, to: staging)
        } catch {
            try? manager.removeItem(at: staging)
            throw Failure("cannot write the generated files next to \(directory.path) (staging in \(parent.path)): \(reason(error)). Fix: make \(parent.path) writable, or choose another --out")
        }
        guard exists else {
            do {
                try operations.move(staging, directory)
            } catch {
                try? manager.removeItem(at: staging)
                throw Failure("cannot create \(directory.path): \(reason(error))")
            }
            return
        }

        let old = parent.appendingPathComponent(".\(directory.lastPathComponent).spinel-old-\(UUID().uuidString)")
        do {
            try operations.move(directory, old)
        } catch {
            try? manager.removeItem(at: staging)
            throw Failure("cannot replace \(directory.path) (moving it aside failed: \(reason(error))); it is unchanged. Fix: make it and \(parent.path) writable, or choose another --out")
        }
        do {
            try operations.move(staging, directory)
        } catch {
            try? operations.move(old, directory)
            try? manager.removeItem(at: staging)
            throw Failure("cannot replace \(directory.path): \(reason(error)); the previous output is unchanged")
        }
        do {
            try operations.remove(old)
        } catch {
            // Undo the swap: the old output goes back, the new one is discarded.
            let undo = parent.appendingPathComponent(".\(directory.lastPathComponent).spinel-undo-\(UUID().uuidString)")
            do {
                try operations.move(directory, undo)
                try operations.move(old, directory)
            } catch {
                throw Failure("cannot remove the previous output of \(directory.path) (\(reason(error))), and undoing the swap failed: the new output is in \(directory.path), the old one in \(old.path)")
            }
            try? manager.removeItem(at: undo)
            throw Failure("cannot remove the previous output in \(directory.path): \(reason(error)); it is unchanged. Fix: make its files removable (check permissions), or choose another --out")
        }
    }

    /// Whether `directory` exists (a directory that may be replaced); throws when it must not be.
    static func checkTarget(_ directory: URL, force: Bool) throws -> Bool {
        let manager = FileManager.default
        let path = directory.path
        guard let attributes = try? manager.attributesOfItem(atPath: path) else { return false }
        let type = attributes[.type] as? FileAttributeType
        if type == .typeSymbolicLink {
            throw Failure("\(path) is a symbolic link; spinel generate does not replace links. Fix: give the directory it points to, or another --out")
        }
        if type != .typeDirectory {
            if force { return true }
            throw Failure("\(path) is a file, not a directory that spinel generate wrote; it was left untouched. Fix: choose another --out, or pass --force to replace it")
        }
        let entries = try manager.contentsOfDirectory(atPath: path).sorted()
        if entries.isEmpty { return true }
        let cwd = URL(fileURLWithPath: manager.currentDirectoryPath).standardizedFileURL.resolvingSymlinksInPath().path
        let resolved = directory.resolvingSymlinksInPath().path
        let containsWorkingDirectory = cwd == resolved || cwd.hasPrefix(resolved == "/" ? "/" : resolved + "/")
        if entries.contains(".git") || containsWorkingDirectory {
            let what = entries.contains(".git") ? "is a git repository" : cwd == resolved ? "is the working directory" : "contains the working directory"
            throw Failure("\(path) \(what); spinel generate never replaces it, even with --force. Fix: choose a new directory for --out, e.g. \(directory.appendingPathComponent("generated").path)")
        }
        if force { return true }
        switch ownership(of: directory, entries: entries) {
        case .spinel:
            return true
        case .foreign(let why):
            throw Failure("\(path) is not output of spinel generate (\(why)); nothing was changed. Fix: choose another --out (a new or empty directory), or pass --force to replace the directory and everything in it")
        }
    }

    enum Ownership { case spinel, foreign(String) }

    /// Spinel's output carries a manifest written by Spinel that lists every entry.
    static func ownership(of directory: URL, entries: [String]) -> Ownership {
        let manifestURL = directory.appendingPathComponent(GeneratedManifest.fileName)
        guard let data = try? Data(contentsOf: manifestURL) else {
            return .foreign("no \(GeneratedManifest.fileName)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let generator = object["generator"] as? String, generator.hasPrefix(GeneratedManifest.generatorPrefix),
              let listed = object["files"] as? [String] else {
            return .foreign("its \(GeneratedManifest.fileName) was not written by Spinel")
        }
        // A listed file in a folder (rocc-software/src/xcustom.h) accounts for its top folder.
        let topLevel = Set(listed.map { $0.split(separator: "/", maxSplits: 1).first.map(String.init) ?? $0 })
        let unlisted = entries.filter { !topLevel.contains($0) }
        guard unlisted.isEmpty else {
            let shown = unlisted.prefix(5).joined(separator: ", ") + (unlisted.count > 5 ? ", …" : "")
            return .foreign("it holds \(unlisted.count) file\(unlisted.count == 1 ? "" : "s") the generator did not write: \(shown)")
        }
        return .spinel
    }

    static func createParent(_ parent: URL) throws {
        var ancestor = parent
        var isDirectory: ObjCBool = false
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        if !isDirectory.boolValue {
            throw Failure("cannot create \(parent.path): \(ancestor.path) is a file. Fix: choose an --out that is not under a file")
        }
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw Failure("cannot create \(parent.path): \(reason(error)). Fix: make \(ancestor.path) writable, or choose another --out")
        }
    }

    /// The operating system's reason, without Foundation's wrapping.
    static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
            case .fileWriteVolumeReadOnly: return "read-only file system"
            case .fileWriteOutOfSpace: return "no space left on the device"
            case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
            case .fileWriteFileExists: return "a file is in the way"
            default: break
            }
        }
        return nsError.localizedDescription
    }

    /// The top module of a generated directory: the name of its only `*.f` filelist.
    public static func singleTop(in directory: URL) throws -> String {
        let lists = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".f") }.sorted()
        guard lists.count == 1 else {
            throw ToolError(tool: "spinel", message: lists.isEmpty
                ? "no *.f filelist in \(directory.path): is it a directory written by `spinel generate`?"
                : "several filelists in \(directory.path) (\(lists.joined(separator: ", "))): name one with --top")
        }
        return String(lists[0].dropLast(2))
    }
}
