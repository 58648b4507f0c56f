/// Suggestions for misspelt names in configuration and space files ("did you mean …?").
public enum Misspelling {
    /// The field whose name is nearest to a misspelling (at most a third of its letters off).
    public static func closest(to word: String, in fields: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in a.indices {
                var previous = row[0]
                row[0] = i + 1
                for j in 1..<(b.count + 1) {
                    let current = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i] == b[j - 1] ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let lowered = Array(word.lowercased())
        let scored = fields.map { ($0, distance(lowered, Array($0.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, word.count / 3) else { return nil }
        return best.0
    }
}
