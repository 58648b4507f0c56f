import Foundation
import SpinelAccelerator
import SpinelGolden
@testable import SpinelMapping
import Testing

/// The mesh floor of a CTA layer (CTAMeshFloor.swift): the layer's products alone on the mesh.
/// Its multiply-accumulates must be the layer's (`CTAStudy.compressedMACs`, written from the
/// cost formulas), it cannot beat the PEs (the MAC bound), and the mapped layer (`CTACycles`:
/// front + heads × the rest, every stage) cannot beat it.
@Suite("CTA mesh floor")
struct CTAMeshFloorTests {
    @Test("the floor lies between the MAC bound and the mapped layer",
          arguments: [(UInt64(1), 32, 8, 4, 1), (2, 21, 6, 6, 2), (4, 13, 9, 5, 3)])
    func between(seed: UInt64, n: Int, width: Int, d: Int, heads: Int) throws {
        let (config, parameters, head, expected) = try CTAHeadMappingTests.headCase(seed: seed, n: n, width: width, d: d)
        let counts = expected.clusterCounts, l = try #require(config.cta).hashLength
        let floor = try CTAMeshFloor.floor(n: n, hidden: width, heads: heads, headSize: d, hashLength: l, counts: counts, parameters: parameters)
        // By hand: 3l·n·w for the hashes, (k0 + 2(k1 + k2))·w·d and 2·k0·(k1 + k2)·d per head.
        let kv = counts[1] + counts[2]
        #expect(floor.macs == 3 * l * n * width + heads * ((counts[0] + 2 * kv) * width * d + 2 * counts[0] * kv * d))
        #expect(floor.macs == CTAStudy.compressedMACs(n: n, hidden: width, heads: heads, headSize: d, hashLength: l, counts: counts))
        #expect(floor.bound == Double(floor.macs) / Double(parameters.dim * parameters.dim))
        #expect(Double(floor.cycles) >= floor.bound, "\(floor.cycles) cycles for \(floor.macs) MACs")
        let cycles = try CTACycles(head: head, parameters: parameters)
        let front = cycles.compressed.filter { [CTAHeadMapping.Stage.hashing, CTAHeadMapping.Stage.clustering, CTAHeadMapping.Stage.aggregation].contains($0.stage) }
            .reduce(0) { $0 + $1.cycles }
        let layer = front + UInt64(heads) * (cycles.compressedTotal - front)
        #expect(floor.cycles < layer, "floor \(floor.cycles), mapped layer \(layer), k = \(counts)")
    }

    /// On the `cta` preset, a layer of MiniLM's shape (n = 128, 12 heads of 32 over 384) with the
    /// counts the study measured at n = 128, layer 0: the floor is the products' cycles, above the
    /// bound by the mesh's own overheads and below 2× it.
    @Test("the floor at MiniLM's shape on the cta preset")
    func miniLMShape() throws {
        let parameters = try AcceleratorConfig.cta.parameters()
        let counts = [83, 84, 28]
        let floor = try CTAMeshFloor.floor(n: 128, hidden: 384, heads: 12, headSize: 32, hashLength: 6, counts: counts, parameters: parameters)
        #expect(floor.macs == CTAStudy.compressedMACs(n: 128, hidden: 384, heads: 12, headSize: 32, hashLength: 6, counts: counts))
        #expect(floor.ratio > 1 && floor.ratio < 2, "\(floor.cycles) cycles, bound \(floor.bound)")
    }

    @Test("counts outside 1 … n are rejected by name")
    func rejects() throws {
        let parameters = try AcceleratorConfig.cta.parameters()
        #expect(throws: MappingError.self) {
            try CTAMeshFloor.floor(n: 16, hidden: 16, heads: 1, headSize: 16, hashLength: 6, counts: [17, 1, 1], parameters: parameters)
        }
        #expect(throws: MappingError.self) {
            try CTAMeshFloor.floor(n: 16, hidden: 16, heads: 1, headSize: 16, hashLength: 6, counts: [1, 1], parameters: parameters)
        }
    }
}
