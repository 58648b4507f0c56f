import Foundation
import SpinelHDL

/// Writing generated output safely.
public enum GeneratedOutput {
    /// Replaces `directory` with exactly `files`: they are written to a sibling staging
    /// directory first and swapped in only when all are written, so an interrupted run never
    /// leaves a mix of old and new files.
    public static func replace(directory: URL, with files: [GeneratedFile]) throws {
        let manager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try manager.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).staging-\(UUID().uuidString)")
        do {
            try OutputChecks.write(files, to: staging)
        } catch {
            try? manager.removeItem(at: staging)
            throw error
        }
        if manager.fileExists(atPath: directory.path) {
            let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString)")
            try manager.moveItem(at: directory, to: old)
            try manager.moveItem(at: staging, to: directory)
            try manager.removeItem(at: old)
        } else {
            try manager.moveItem(at: staging, to: directory)
        }
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
