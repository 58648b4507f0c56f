import Foundation
import SpinelAccelerator
import Testing

/// The `cta` section of the configuration (CTAParameters.swift, docs/CONFIGURATION.md): its
/// documented defaults, each rule with its fix, and how a configuration file sets it.
@Suite("Configuration: CTA parameters")
struct CTAParametersTests {
    @Test func defaultsAreTheDocumentedOnes() {
        let cta = CTAParameters()
        #expect(cta.hashLength == 6 && cta.maxTokens == 512 && cta.maxClusters == 512 && cta.pagTiles == 8)
        #expect(cta.hashCodeBits == 8 && cta.hashReciprocalBits == 16 && cta.averageFractionBits == 16)
        #expect(cta.expTableEntries == 256 && cta.expTableBits == 16)
        #expect(cta.expFractionBits == 8)
        #expect(cta.probabilityAccumulatorBits == 16 + 10)  // 2·512 table entries of 16 bits
        #expect(CTAParameters(maxTokens: 64).maxClusters == 64)  // maxClusters follows maxTokens
        // The cluster index's digits: 2 for an even code width, 1 for an odd one; l·b/d levels.
        #expect(cta.clusterDigitBits == 2 && cta.clusterLevels == 6 * 8 / 2)
        #expect(CTAParameters(hashCodeBits: 5).clusterDigitBits == 1 && CTAParameters(hashLength: 3, hashCodeBits: 5).clusterLevels == 15)
        // Off in every preset but cta.
        #expect(AcceleratorConfig.default.cta == nil && AcceleratorConfig.small.cta == nil && AcceleratorConfig.transformer.cta == nil)
        #expect(AcceleratorConfig.cta.cta == CTAParameters())
        #expect(AcceleratorConfig.cta.problems().isEmpty)
    }

    @Test(arguments: [
        ("hashLength", CTAParameters(hashLength: 0), "0", "between 1 and 16", "the paper's is 6"),
        ("hashLength", CTAParameters(hashLength: 17), "17", "between 1 and 16", "from 1 to 16"),
        ("maxTokens", CTAParameters(maxTokens: 8), "8", "between DIM (16) and 65536", "from 16 to 65536"),
        ("maxClusters", CTAParameters(maxTokens: 64, maxClusters: 65), "65", "between 1 and maxTokens (64)", "leave it out to take maxTokens"),
        ("maxClusters", CTAParameters(maxClusters: 0), "0", "between 1 and maxTokens (512)", "from 1 to 512"),
        ("pagTiles", CTAParameters(pagTiles: 0), "0", "between 1 and 64", "the paper's is 8"),
        ("hashCodeBits", CTAParameters(hashCodeBits: 1), "1", "between 2 and 16", "from 2 to 16"),
        ("clusterDigitBits", CTAParameters(clusterDigitBits: 3), "3", "must divide hashCodeBits (8)", "1, 2, 4, 8"),
        ("clusterDigitBits", CTAParameters(hashCodeBits: 4, clusterDigitBits: 8), "8", "must divide hashCodeBits (4)", "1, 2, 4"),
        ("hashReciprocalBits", CTAParameters(hashReciprocalBits: 25), "25", "between 8 and 24", "from 8 to 24"),
        ("averageFractionBits", CTAParameters(averageFractionBits: 7), "7", "between 8 and 24", "from 8 to 24"),
        ("averageFractionBits", CTAParameters(maxTokens: 4096, averageFractionBits: 18), "18", "log2(maxTokens) + 7 = 19",
         "from 19 to 24"),
        ("expTableEntries", CTAParameters(expTableEntries: 100), "100", "power of two between 16 and 4096", "256 (the default)"),
        ("expTableEntries", CTAParameters(expTableEntries: 8192), "8192", "power of two between 16 and 4096", "4096"),
        ("expTableBits", CTAParameters(expTableBits: 7), "7", "between 8 and 24", "from 8 to 24"),
    ])
    func everyRuleNamesTheFieldAndTheFix(field: String, cta: CTAParameters, value: String, rule: String, fix: String) throws {
        var config = AcceleratorConfig.cta
        config.cta = cta
        let problems = config.problems()
        #expect(problems.count == 1, "\(problems)")
        let problem = try #require(problems.first)
        #expect(problem.field == "cta.\(field)" && problem.value == value, "\(problem)")
        #expect(problem.rule.contains(rule), "\(problem)")
        #expect(problem.fix.contains(fix), "\(problem)")
    }

    @Test func configurationFilesSetTheSection() throws {
        let tiles = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "cta": {"pagTiles": 4, "expTableEntries": 64}}"#.utf8))
        #expect(tiles.cta == CTAParameters(pagTiles: 4, expTableEntries: 64))
        let clusters = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "cta": {"maxTokens": 128, "maxClusters": 32}}"#.utf8))
        #expect(clusters.cta?.maxTokens == 128 && clusters.cta?.maxClusters == 32)
        // clusterDigitBits left out follows the code width the file gives; given, it is kept.
        let odd = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "cta": {"hashCodeBits": 5}}"#.utf8))
        #expect(odd.cta?.clusterDigitBits == 1)
        let digits = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "cta": {"hashCodeBits": 4, "clusterDigitBits": 4}}"#.utf8))
        #expect(digits.cta?.clusterDigitBits == 4 && digits.cta?.clusterLevels == 6)
        // Every field survives config.json: written, then read back.
        let written = try JSONEncoder().encode(tiles)
        #expect(try AcceleratorConfig.fromJSON(written).cta == tiles.cta)
        do {
            _ = try AcceleratorConfig.fromJSON(Data(#"{"base": "cta", "cta": {"expTableEntrys": 64}}"#.utf8), file: "mine.json")
            Issue.record("a misspelt cta field was accepted")
        } catch {
            #expect(error.field == "cta.expTableEntrys" && error.fix.contains("expTableEntries"), "\(error)")
        }
    }
}
