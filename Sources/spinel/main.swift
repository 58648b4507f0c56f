import SpinelHDL
import SpinelAccelerator
import Foundation
let n = Int(CommandLine.arguments.dropFirst().first ?? "4") ?? 4
let start = Date()
let design = try Elaborator.elaborate(MACArray(rows: n, columns: n))
let t1 = Date()
let files = VerilogEmitter().emit(design)
let t2 = Date()
print("elab", t1.timeIntervalSince(start), "emit", t2.timeIntervalSince(t1))
try? FileManager.default.createDirectory(atPath: "/tmp/out", withIntermediateDirectories: true)
for f in files { try f.contents.write(toFile: "/tmp/out/" + f.name, atomically: true, encoding: .utf8) }
