import Foundation

/// A safetensors file: an 8-byte little-endian header length, a JSON header mapping each tensor's
/// name to its dtype, shape and byte range, then the tensors' bytes. The file is memory-mapped;
/// `floats(_:)` converts one tensor to `Float` when it is asked for, so tensors the model never
/// reads (BERT checkpoints carry an I64 `position_ids`) cost nothing.
public struct SafeTensorsFile: Sendable {
    public struct TensorInfo: Hashable, Sendable {
        public var dataType: String
        public var shape: [Int]
        /// Byte range within the data section (after the header).
        public var byteRange: Range<Int>
    }

    public let path: String
    /// The tensors by name; `names` keeps the header's order.
    public let tensors: [String: TensorInfo]
    public let names: [String]
    private let data: Data
    private let dataStart: Int

    static let bytesPerElement: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
        "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1,
    ]

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ModelError.malformedFile(path: path, problem: "cannot be read (\(error.localizedDescription))")
        }
        try self.init(path: path, data: data)
    }

    public init(path: String, data: Data) throws {
        self.path = path
        self.data = data
        guard data.count >= 8 else {
            throw ModelError.truncatedFile(path: path, expectedBytes: 8, actualBytes: data.count)
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            if headerLength > 100_000_000 {
                throw ModelError.malformedFile(path: path, problem: "the header length field says \(headerLength) bytes, which no safetensors header has")
            }
            throw ModelError.truncatedFile(path: path, expectedBytes: 8 + Int(headerLength), actualBytes: data.count)
        }
        dataStart = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + dataStart)
        guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
            throw ModelError.malformedFile(path: path, problem: "its \(headerLength)-byte header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        var names: [String] = []
        var dataEnd = 0
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any],
                  let dataType = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  shape.count == (entry["shape"] as? [Any])?.count, offsets.count == 2
            else {
                throw ModelError.malformedFile(path: path, problem: "header entry \"\(name)\" lacks dtype, shape or data_offsets [begin, end]")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw ModelError.malformedFile(path: path, problem: "header entry \"\(name)\" has a negative size or an empty byte range (\(shape), \(offsets))")
            }
            if let size = Self.bytesPerElement[dataType] {
                let expected = shape.reduce(1, *) * size
                guard offsets[1] - offsets[0] == expected else {
                    throw ModelError.malformedFile(path: path, problem: "tensor \"\(name)\" is \(dataType) of shape \(shape) (\(expected) bytes) but its data_offsets span \(offsets[1] - offsets[0]) bytes")
                }
            }
            tensors[name] = TensorInfo(dataType: dataType, shape: shape, byteRange: offsets[0] ..< offsets[1])
            names.append(name)
            dataEnd = max(dataEnd, offsets[1])
        }
        guard dataStart + dataEnd <= data.count else {
            throw ModelError.truncatedFile(path: path, expectedBytes: dataStart + dataEnd, actualBytes: data.count)
        }
        self.tensors = tensors
        self.names = names.sorted { tensors[$0]!.byteRange.lowerBound < tensors[$1]!.byteRange.lowerBound }
    }

    /// One tensor's elements as `Float`, row-major, after checking its shape.
    public func floats(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let info = tensors[name] else { throw ModelError.missingTensor(path: path, tensor: name) }
        guard info.shape == expected else {
            throw ModelError.wrongShape(path: path, tensor: name, expected: expected, actual: info.shape)
        }
        let count = expected.reduce(1, *)
        let start = dataStart + info.byteRange.lowerBound
        return try data.withUnsafeBytes { raw -> [Float] in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[start ..< start + info.byteRange.count])
            switch info.dataType {
            case "F32":
                return (0 ..< count).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case "F64":
                return (0 ..< count).map { Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            case "F16":
                return (0 ..< count).map { Self.halfToFloat(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
            case "BF16":
                return (0 ..< count).map { Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
            default:
                throw ModelError.unsupportedDataType(path: path, tensor: name, dataType: info.dataType)
            }
        }
    }

    /// IEEE 754 binary16 to binary32, written out so that it does not depend on `Float16`
    /// (absent on some x86 toolchains).
    static func halfToFloat(_ half: UInt16) -> Float {
        let sign = UInt32(half >> 15) << 31
        let exponent = Int(half >> 10) & 0x1F
        let mantissa = UInt32(half & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2⁻²⁴.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }
}
