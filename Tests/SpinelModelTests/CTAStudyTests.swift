import Foundation
import SpinelAccelerator
import SpinelMapping
import SpinelModel
import Testing

/// `spinel cta-study` on the tiny model (docs/CTA.md, "Measured on MiniLM"): the invariants of
/// its table, whatever the weights.
@Suite("CTA study")
struct CTAStudyTests {
    @Test func invariantsOnTheTinyModel() throws {
        let tiny = TinyBert(seed: 7)
        let folder = try tiny.write()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let encoder = try SentenceEmbedder(folder: folder).encoder
        let ids = [2, 5, 6, 7, 8, 5, 9, 14, 3]  // "the" twice: distinct tokens all the same (positions differ)
        let n = ids.count
        let widths = [1e-6, 0.5, 1e6]
        let study = CTAStudy(encoder: encoder, ids: ids, widths: widths, parameters: CTAParameters())
        #expect(study.rows.count == 2 * widths.count)  // two layers
        for row in study.rows {
            for k in row.clusters + row.floatClusters { #expect((1 ... n).contains(k), "\(row)") }
            #expect(row.linearRatio >= 5.0 / Double(3 * n) && row.linearRatio <= 5.0 / 3, "\(row)")
            #expect(row.attentionRatio >= 2.0 / Double(n * n) && row.attentionRatio <= 2, "\(row)")
            #expect(row.integerError.isFinite && row.floatError.isFinite)
            // 2 heads of size 4, hidden 8: 2·(3·9·8·4 + 2·9²·4) dense multiply-accumulates.
            #expect(row.denseMACs == 3024)
            let k0 = row.clusters[0], kv = row.clusters[1] + row.clusters[2]
            #expect(row.compressedMACs == 2 * ((k0 + 2 * kv) * 8 * 4 + 2 * k0 * kv * 4) + 3 * 6 * n * 8)
            if row.width == 1e-6 {
                // Every token its own cluster, residuals all zero: the float CTA is exact attention.
                #expect(row.floatClusters == [n, n, 1], "\(row)")
                #expect(row.floatError < 1e-9, "\(row)")
            }
            if row.width == 1e6 {
                #expect(row.floatClusters == [1, 1, 1] && row.clusters == [1, 1, 1], "\(row)")
            }
        }
        #expect(study.table.split(separator: "\n").count == 1 + study.rows.count)
    }
}
