import Foundation
import SpinelAccelerator
import SpinelHDL
import SpinelSim
import Testing

/// `spinel generate --out` never deletes what it did not write (issue 11, bug 1). Each case
/// would have failed with the old `GeneratedOutput.replace`, which replaced whatever was there.
@Suite("generate --out replaces only its own output")
struct GeneratedOutputTests {
    static func sample() throws -> [GeneratedFile] { try SampleDesign.macArray.files(rows: 2, columns: 2) }

    static func scratch(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("spinel-out-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Every file below `directory` (the harness has rocc-software/src/xcustom.h) by its relative path.
    static func contents(_ directory: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in try filePaths(under: directory) {
            result[name] = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return result
    }

    static func write(_ files: [String: String], in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    }

    /// Nothing but `expected` in the parent: no staging, backup or undo directory left behind.
    static func expectNoLeftovers(in parent: URL, expected: Set<String>) throws {
        let entries = Set(try FileManager.default.contentsOfDirectory(atPath: parent.path))
        #expect(entries == expected, "left behind: \(entries.subtracting(expected).sorted())")
    }

    @Test func newAndEmptyDirectoriesAreWritten() throws {
        let parent = try Self.scratch("new")
        let files = try Self.sample()
        let fresh = parent.appendingPathComponent("a/b/out")
        try GeneratedOutput.replace(directory: fresh, with: files)
        #expect(try Self.contents(fresh) == Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.contents) }))
        let empty = parent.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: false)
        try GeneratedOutput.replace(directory: empty, with: files)
        #expect(try Self.contents(empty).keys.sorted() == files.map(\.name).sorted())
        try Self.expectNoLeftovers(in: parent, expected: ["a", "empty"])
    }

    @Test func itsOwnOutputIsReplaced() throws {
        let parent = try Self.scratch("own")
        let out = parent.appendingPathComponent("out")
        try GeneratedOutput.replace(directory: out, with: AcceleratorGeneration.files(for: .preset(.small)))
        let files = try Self.sample()
        try GeneratedOutput.replace(directory: out, with: files)
        #expect(try Self.contents(out).keys.sorted() == files.map(\.name).sorted())
        try Self.expectNoLeftovers(in: parent, expected: ["out"])
    }

    @Test func aFolderOfUserFilesIsRefusedAndKept() throws {
        let parent = try Self.scratch("user")
        let out = parent.appendingPathComponent("out")
        let mine = ["notes.txt": "my notes\n", "design.v": "module keep; endmodule\n"]
        try Self.write(mine, in: out)
        let error = try #require(throws: GeneratedOutput.Failure.self) { try GeneratedOutput.replace(directory: out, with: Self.sample()) }
        #expect(error.description.contains("is not output of spinel generate (no manifest.json)"))
        #expect(error.description.contains("--force"))
        #expect(try Self.contents(out) == mine)
        try Self.expectNoLeftovers(in: parent, expected: ["out"])
        // With --force the user has asked for it.
        try GeneratedOutput.replace(directory: out, with: Self.sample(), force: true)
        #expect(try Self.contents(out)["notes.txt"] == nil)
    }

    @Test func aUserFileAddedToItsOutputIsRefused() throws {
        let parent = try Self.scratch("added")
        let out = parent.appendingPathComponent("out")
        try GeneratedOutput.replace(directory: out, with: Self.sample())
        try "results I must keep\n".write(to: out.appendingPathComponent("results.txt"), atomically: true, encoding: .utf8)
        let error = try #require(throws: GeneratedOutput.Failure.self) { try GeneratedOutput.replace(directory: out, with: Self.sample()) }
        #expect(error.description.contains("1 file the generator did not write: results.txt"))
        #expect(try Self.contents(out)["results.txt"] == "results I must keep\n")
    }

    @Test func aManifestFromSomeoneElseIsNotEnough() throws {
        let parent = try Self.scratch("foreign-manifest")
        let out = parent.appendingPathComponent("out")
        let theirs = ["manifest.json": "{\"generator\": \"other 1.0\", \"files\": [\"manifest.json\"]}\n"]
        try Self.write(theirs, in: out)
        let error = try #require(throws: GeneratedOutput.Failure.self) { try GeneratedOutput.replace(directory: out, with: Self.sample()) }
        #expect(error.description.contains("was not written by Spinel"))
        #expect(try Self.contents(out) == theirs)
    }

    @Test func aRepositoryIsNeverReplacedEvenWithForce() throws {
        let parent = try Self.scratch("repo")
        let repository = parent.appendingPathComponent("clone")
        try Self.write(["README.md": "mine\n"], in: repository.appendingPathComponent(".git"))
        try Self.write(["Package.swift": "// mine\n"], in: repository)
        for force in [false, true] {
            let error = try #require(throws: GeneratedOutput.Failure.self) {
                try GeneratedOutput.replace(directory: repository, with: Self.sample(), force: force)
            }
            #expect(error.description.contains("is a git repository"))
        }
        #expect(try String(contentsOf: repository.appendingPathComponent("Package.swift"), encoding: .utf8) == "// mine\n")
        #expect(try Self.contents(repository.appendingPathComponent(".git")) == ["README.md": "mine\n"])
        try Self.expectNoLeftovers(in: parent, expected: ["clone"])
    }

    @Test func theWorkingDirectoryIsNeverReplaced() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let error = try #require(throws: GeneratedOutput.Failure.self) {
            try GeneratedOutput.replace(directory: cwd.deletingLastPathComponent(), with: Self.sample(), force: true)
        }
        #expect(error.description.contains("git repository") || error.description.contains("contains the working directory"))
    }

    @Test func aFileIsNotTurnedIntoADirectory() throws {
        let parent = try Self.scratch("file")
        let file = parent.appendingPathComponent("out")
        try "data\n".write(to: file, atomically: true, encoding: .utf8)
        let error = try #require(throws: GeneratedOutput.Failure.self) { try GeneratedOutput.replace(directory: file, with: Self.sample()) }
        #expect(error.description.contains("is a file"))
        #expect(try String(contentsOf: file, encoding: .utf8) == "data\n")
        let under = try #require(throws: GeneratedOutput.Failure.self) {
            try GeneratedOutput.replace(directory: file.appendingPathComponent("sub/out"), with: Self.sample())
        }
        #expect(under.description.contains("\(file.path) is a file"))
        try Self.expectNoLeftovers(in: parent, expected: ["out"])
    }

    /// The old output cannot be removed (a read-only directory for a non-root user; injected
    /// here, since root removes anything): the swap is undone and nothing is left behind.
    @Test func aFailedRemovalUndoesTheSwap() throws {
        let parent = try Self.scratch("undo")
        let out = parent.appendingPathComponent("out")
        try GeneratedOutput.replace(directory: out, with: AcceleratorGeneration.files(for: .preset(.small)))
        let before = try Self.contents(out)
        let failing = GeneratedOutput.Operations(
            move: GeneratedOutput.Operations.system.move,
            remove: { url in
                if url.lastPathComponent.contains("spinel-old") { throw CocoaError(.fileWriteNoPermission) }
                try FileManager.default.removeItem(at: url)
            }
        )
        let error = try #require(throws: GeneratedOutput.Failure.self) {
            try GeneratedOutput.replace(directory: out, with: Self.sample(), operations: failing)
        }
        #expect(error.description.contains("cannot remove the previous output"))
        #expect(error.description.contains("it is unchanged"))
        #expect(try Self.contents(out) == before)
        try Self.expectNoLeftovers(in: parent, expected: ["out"])
    }

    @Test func aFailedSwapKeepsTheOldOutput() throws {
        let parent = try Self.scratch("swap")
        let out = parent.appendingPathComponent("out")
        try GeneratedOutput.replace(directory: out, with: Self.sample())
        let before = try Self.contents(out)
        let failing = GeneratedOutput.Operations(
            move: { from, to in
                if from.lastPathComponent.contains("spinel-staging") { throw CocoaError(.fileWriteNoPermission) }
                try FileManager.default.moveItem(at: from, to: to)
            },
            remove: GeneratedOutput.Operations.system.remove
        )
        #expect(throws: GeneratedOutput.Failure.self) {
            try GeneratedOutput.replace(directory: out, with: AcceleratorGeneration.files(for: .preset(.small)), operations: failing)
        }
        #expect(try Self.contents(out) == before)
        try Self.expectNoLeftovers(in: parent, expected: ["out"])
    }
}
