import Foundation
import SpinelAccelerator
import SpinelHDL
import Testing

/// Every configuration the validator accepts must generate. These are the ends of each of its
/// ranges (docs/CONFIGURATION.md): each is accepted by `problems()`, then elaborated — every
/// elaboration check runs (literal fit, widths, drivers, latches, loops), so an internal error
/// such as DIM 256's `literal 256 does not fit UInt<8>` fails here.
@Suite("The ends of every configuration range elaborate")
struct ConfigurationExtremesTests {
    /// The smallest legal value of every range at once: DIM 2, one-byte elements, the narrowest
    /// accumulator and spatial type, the smallest memories in one bank, a 32-bit bus carrying the
    /// smallest transfer, one request in flight, one-entry queues and stations, one cycle of
    /// memory latency, one byte per cycle. (SInt24 accumulators: the narrowest whole-byte type
    /// that holds the 17-bit spatial type.)
    static var smallest: AcceleratorConfig {
        var config = AcceleratorConfig(name: "Smallest")
        config.meshRows = 2
        config.meshColumns = 2
        config.inputType = .sint(8)
        config.weightType = .sint(8)
        config.accType = .sint(24)              // whole bytes holding the spatial type
        config.spatialOutputType = .sint(17)    // 2·8 + log2(2)
        config.spCapacityKiB = 1
        config.spBanks = 1
        config.accCapacityKiB = 3              // whole rows of 6 B: 512 of them
        config.accBanks = 1
        config.dmaBusBits = 32
        config.dmaMaxBytes = 8                  // one accumulator row (6 B) in whole bus beats
        config.maxInFlightReqs = 1
        config.ldQueue = 1
        config.exQueue = 1
        config.stQueue = 1
        config.ldReservationEntries = 1
        config.exReservationEntries = 1
        config.stReservationEntries = 1
        config.memory = MemoryModel(latencyCycles: 1, bytesPerCycle: 1)
        return config
    }

    /// The smallest configuration with the normalization units and the CTA units at their
    /// lower ends (one statistics slot, hash length 1, maxTokens = DIM, one cluster, the narrowest formats).
    static var smallestWithNormalizations: AcceleratorConfig {
        var config = smallest
        config.name = "SmallestNorm"
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        config.normalizationSlots = 1
        config.cta = CTAParameters(hashLength: 1, maxTokens: 2, maxClusters: 1, pagTiles: 1, hashCodeBits: 2, hashReciprocalBits: 8,
                                    averageFractionBits: 8, expTableEntries: 16, expTableBits: 8)
        return config
    }

    /// The largest value of every range but DIM: 24-bit elements, 64-bit accumulators, the
    /// widest spatial type, 2^26 scratchpad rows, a 1024-bit bus and 4096-byte transfers, 64
    /// requests in flight, 64-entry queues and stations, 10000 cycles of latency at the bus's
    /// full width.
    static var largestFields: AcceleratorConfig {
        var config = AcceleratorConfig(name: "LargestFields")
        config.meshRows = 4
        config.meshColumns = 4
        config.inputType = .sint(24)
        config.weightType = .sint(24)
        config.accType = .sint(64)
        config.spatialOutputType = .sint(64)
        config.spCapacityKiB = (1 << 26) * 12 / 1024     // 2^26 rows of 12 B
        config.spBanks = 64
        config.accCapacityKiB = (1 << 26) * 32 / 1024    // 2^26 rows of 32 B
        config.accBanks = 64
        config.dmaBusBits = 1024
        config.dmaMaxBytes = 4096
        config.maxInFlightReqs = 64
        config.ldQueue = 64
        config.exQueue = 64
        config.stQueue = 64
        config.ldReservationEntries = 64
        config.exReservationEntries = 64
        config.stReservationEntries = 64
        config.memory = MemoryModel(latencyCycles: 10_000, bytesPerCycle: 128)
        return config
    }

    /// The normalization and CTA ranges at their upper ends (16 slots, 32-bit accumulators,
    /// hash length DIM = 4 (CTA_CLUSTER reads a code's l products as one row), 65536 tokens and clusters, the widest formats).
    static var largestNormalizations: AcceleratorConfig {
        var config = AcceleratorConfig.small
        config.name = "LargestNorm"
        config.hasNormalizations = true
        config.hasAffineLayerNorm = true
        config.normalizationSlots = 16
        config.cta = CTAParameters(hashLength: 4, maxTokens: 65536, maxClusters: 65536, pagTiles: 64, hashCodeBits: 16,
                                    hashReciprocalBits: 24, averageFractionBits: 24, expTableEntries: 4096, expTableBits: 24)
        return config
    }

    /// DIM at the top of its range, as one tile per PE and as one tile for the whole array.
    static func dim256(meshRows: Int) -> AcceleratorConfig {
        var config = AcceleratorConfig(name: "Dim256")
        config.meshRows = meshRows
        config.meshColumns = meshRows
        config.tileRows = 256 / meshRows
        config.tileColumns = 256 / meshRows
        config.spatialOutputType = .sint(32)
        config.spCapacityKiB = 256      // 256 rows of 256 B in each of 4 banks
        config.accCapacityKiB = 512     // 256 rows of 1 KiB in each of 2 banks (one DIM stripe per bank)
        config.dmaMaxBytes = 1024
        return config
    }

    static let extremes: [(String, AcceleratorConfig)] = [
        ("smallest", smallest), ("smallest with normalizations and CTA", smallestWithNormalizations),
        ("largest fields", largestFields), ("largest normalizations and CTA", largestNormalizations),
        // 16×16 tiles of 16×16 PEs: every DIM-wide structure (controllers, memories, the
        // operand buffers) at DIM 256, with a tenth of the skew registers of a 256×256 mesh of
        // single-PE tiles (`make bench-scale` generates that one).
        ("DIM 256 as 16×16 tiles of 16×16 PEs", dim256(meshRows: 16)),
    ]

    @Test(arguments: extremes.indices)
    func extremeConfigurationElaborates(index: Int) throws {
        let (label, config) = Self.extremes[index]
        #expect(config.problems().isEmpty, "\(label): \(config.problems())")
        let parameters = try config.parameters()
        let design = try Elaborator.elaborate(Accelerator(parameters))
        #expect(design.top.name == config.name, "\(label)")
    }

    /// One past each end is refused (so the extremes above really are the ends).
    @Test func onePastTheEndsIsRefused() {
        var tooSmall = Self.smallest
        tooSmall.meshRows = 1
        tooSmall.meshColumns = 1
        var tooLarge = Self.dim256(meshRows: 256)
        tooLarge.meshRows = 257
        tooLarge.meshColumns = 257
        var spatialTooNarrow = Self.smallest
        spatialTooNarrow.spatialOutputType = .sint(16)
        var tooManyRows = Self.largestFields
        tooManyRows.spCapacityKiB *= 2
        var busTooWide = Self.largestFields
        busTooWide.dmaBusBits = 2048
        var tooManySlots = Self.largestNormalizations
        tooManySlots.normalizationSlots = 17
        for (label, config, field) in [("DIM 1", tooSmall, "meshRows"), ("DIM 257", tooLarge, "meshRows"),
                                       ("spatial 16 bits at DIM 2", spatialTooNarrow, "spatialOutputType"),
                                       ("2^27 scratchpad rows", tooManyRows, "spCapacityKiB"), ("2048-bit bus", busTooWide, "dmaBusBits"),
                                       ("17 slots", tooManySlots, "normalizationSlots")] {
            #expect(config.problems().contains { $0.field == field }, "\(label): \(config.problems())")
        }
    }
}
