/// The cluster index of compressed-token attention (docs/CTA.md, "Cluster index"): tokens that
/// share a hash code share a cluster, and clusters are numbered in the order in which their code
/// first appears while tokens stream in order 0, 1, …, n − 1.
///
/// This is the golden function the cluster index module is tested against and the golden model
/// computes with; the hardware keeps one node memory per hash position and finishes one token
/// per cycle, the function keeps a dictionary.
public enum ClusterIndex {
    /// The cluster table of one token stream.
    public struct Table: Hashable, Sendable {
        /// `ids[i]` is token i's cluster, in `0 ..< count`. On overflow it holds the tokens
        /// before the first one that found no free cluster.
        public var ids: [Int]
        /// Number of clusters (k).
        public var count: Int
        /// The first token whose code needed cluster number `maximumClusters` (counting from 0),
        /// or nil when every token found its cluster. The hardware reports it as the named error
        /// `clusterOverflow` and writes no id for this token or any later one.
        public var overflowToken: Int?

        public init(ids: [Int], count: Int, overflowToken: Int?) {
            self.ids = ids
            self.count = count
            self.overflowToken = overflowToken
        }
    }

    /// Assigns cluster ids to `codes` (one hash code of l small signed integers per token, all of
    /// the same length), with at most `maximumClusters` clusters.
    public static func assign(codes: [[Int]], maximumClusters: Int) -> Table {
        precondition(maximumClusters > 0, "a cluster index needs room for one cluster")
        var clusterOfCode: [[Int]: Int] = [:]
        var ids: [Int] = []
        ids.reserveCapacity(codes.count)
        for (token, code) in codes.enumerated() {
            if let id = clusterOfCode[code] {
                ids.append(id)
                continue
            }
            guard clusterOfCode.count < maximumClusters else {
                return Table(ids: ids, count: clusterOfCode.count, overflowToken: token)
            }
            let id = clusterOfCode.count
            clusterOfCode[code] = id
            ids.append(id)
        }
        return Table(ids: ids, count: clusterOfCode.count, overflowToken: nil)
    }
}
