import Foundation

/// A file or directory named on the command line that cannot be used: what, where, the fix.
/// Foundation's own errors ("The file couldn't be opened") name neither the role nor the fix.
public struct FileProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var fix: String

    public init(path: String, problem: String, fix: String) {
        self.path = path
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(path): \(problem)\n  fix: \(fix)" }
}

/// Checks on the files and directories a user names (`--config`, `--testbench`, `--out`),
/// made before any work so that a wrong path fails at once and says which path and why.
public enum UserFiles {
    /// The contents of the `role` ("configuration file", "testbench") at `path`.
    public static func read(_ path: String, role: String) throws(FileProblem) -> Data {
        try checkReadable(path, role: role)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FileProblem(path: path, problem: "cannot read the \(role): \(error.localizedDescription)",
                              fix: "check that the \(role) is a readable regular file")
        }
    }

    /// The `role` at `path` exists, is a file (not a directory) and can be read.
    public static func checkReadable(_ path: String, role: String) throws(FileProblem) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            throw FileProblem(path: path, problem: "no \(role) there" + (absolute == path ? "" : " (looked for \(absolute))"),
                              fix: "check the path; a relative path starts at the current directory (\(manager.currentDirectoryPath))")
        }
        guard !isDirectory.boolValue else {
            throw FileProblem(path: path, problem: "is a directory, not a \(role)", fix: "give the path of the \(role) itself, not of a directory")
        }
        guard manager.isReadableFile(atPath: path) else {
            throw FileProblem(path: path, problem: "the \(role) is not readable (permission denied)",
                              fix: "make it readable (chmod u+r \(path)) or copy it somewhere readable")
        }
    }

    /// `path` can become a directory that `option` (`--out`) fills: it is a directory or does
    /// not exist yet, no component above it is a file, and the directory that will hold it is
    /// writable.
    public static func checkDirectoryCanBeWritten(_ path: String, option: String) throws(FileProblem) {
        try checkCanBeCreated(path, option: option, kind: "directory")
    }

    /// `path` can become a file that `option` (`--trace`) names, under the same rules.
    public static func checkFileCanBeWritten(_ path: String, option: String) throws(FileProblem) {
        try checkCanBeCreated(path, option: option, kind: "file")
    }

    private static func checkCanBeCreated(_ path: String, option: String, kind: String) throws(FileProblem) {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue != (kind == "directory") {
            throw FileProblem(path: path, problem: isDirectory.boolValue ? "\(option) names a directory; it must name a file"
                                                                        : "\(option) names an existing file; it must name a directory",
                              fix: "choose another \(option) path, or move the \(isDirectory.boolValue ? "directory" : "file") away")
        }
        // The nearest existing ancestor must be a directory we may write into.
        var ancestor = url.deletingLastPathComponent()
        while !manager.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) && ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard isDirectory.boolValue else {
            throw FileProblem(path: path, problem: "cannot create the \(kind): \(ancestor.path) is a file, not a directory",
                              fix: "choose an \(option) path that is not inside the file \(ancestor.path)")
        }
        guard manager.isWritableFile(atPath: ancestor.path) else {
            throw FileProblem(path: path, problem: "cannot create the \(kind): the directory \(ancestor.path) is not writable",
                              fix: "choose an \(option) path in a directory you can write, or make \(ancestor.path) writable (chmod u+w)")
        }
    }
}
