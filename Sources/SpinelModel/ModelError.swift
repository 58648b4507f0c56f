/// Why a model folder cannot be used. Every case names the file (and the tensor, where there is
/// one) and `description` says what to do about it.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A file the model needs is not in the folder.
    case missingFile(path: String)
    /// A file could not be read or parsed; `problem` says how it is wrong.
    case malformedFile(path: String, problem: String)
    /// `config.json` lacks a field, or a field has an unusable value.
    case badConfig(path: String, field: String, problem: String)
    /// `config.json` describes a model this reader does not implement.
    case unsupportedModel(path: String, problem: String)
    /// The safetensors file ends before the data its header promises.
    case truncatedFile(path: String, expectedBytes: Int, actualBytes: Int)
    /// The safetensors file has no tensor by this name (with or without the `bert.` prefix).
    case missingTensor(path: String, tensor: String)
    /// A tensor's shape is not what `config.json` implies.
    case wrongShape(path: String, tensor: String, expected: [Int], actual: [Int])
    /// A tensor's element type cannot be read as floats.
    case unsupportedDataType(path: String, tensor: String, dataType: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            let pytorchOnly = path.hasSuffix("model.safetensors")
                ? " (a folder with only pytorch_model.bin must be converted to safetensors first)" : ""
            return "\(path): no such file. A Hugging Face BERT model folder holds config.json, model.safetensors "
                + "and vocab.txt; fetch all-MiniLM-L6-v2 with `make model` or give --model a folder that has all three\(pytorchOnly)."
        case .malformedFile(let path, let problem):
            return "\(path): \(problem). The file is damaged or not what its name says; download the model again "
                + "(`rm -rf .build/models && make model`)."
        case .badConfig(let path, let field, let problem):
            return "\(path): field \"\(field)\" \(problem). Use the config.json that came with the weights."
        case .unsupportedModel(let path, let problem):
            return "\(path): \(problem). Spinel's reference reads BERT-family encoders only "
                + "(model_type \"bert\", architectures BertModel and its heads, absolute positions)."
        case .truncatedFile(let path, let expected, let actual):
            return "\(path): truncated — its header promises \(expected) bytes, the file has \(actual). "
                + "The download was cut short; delete the file and fetch it again (`rm -rf .build/models && make model`)."
        case .missingTensor(let path, let tensor):
            return "\(path): no tensor \"\(tensor)\" (looked for it with and without the \"bert.\" prefix). "
                + "The weights do not match config.json (num_hidden_layers?) or are not a BERT model's."
        case .wrongShape(let path, let tensor, let expected, let actual):
            return "\(path): tensor \"\(tensor)\" has shape \(actual), config.json implies \(expected). "
                + "The weights and config.json come from different models; use the pair that was published together."
        case .unsupportedDataType(let path, let tensor, let dataType):
            return "\(path): tensor \"\(tensor)\" is \(dataType); the reader takes F32, F16, BF16 and F64. "
                + "Convert the checkpoint to float (e.g. save it again with torch_dtype=float32)."
        }
    }
}
