import ArgumentParser
import Foundation
import SpinelGolden

/// `spinel accuracy FILE`: the int8 encoder layer against its float reference (docs/ACCURACY.md).
struct Accuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare an encoder-layer run's int8 tensors with a float reference of the same layer.",
        discussion: """
            FILE is the dump Testbenches/encoder_layer.c writes after a passing run \
            (`spinel sim --preset transformer --testbench Testbenches/encoder_layer.c -- S D heads F FILE`). \
            The float reference computes the layer in Double from the dequantized X and weights \
            (real matmuls, softmax with exp, GELU with erf, LayerNorm with sqrt), each stage from the \
            previous float stage; the scales come from the run's constants (docs/ACCURACY.md, "Scales"). \
            For Q, K, V, P (all heads), ctx, X1, H and Y it prints the relative error \
            ‖int·unit − float‖₂ / ‖float‖₂, the largest error in units of the int8 tensor, and the rows \
            whose float maximum is also the integer row's maximum (P: the most attended key of each \
            query, per head). Exit status 2 if the file cannot be read (the message says why).
            """
    )

    @Argument(help: "The dump file written by encoder_layer.c.")
    var file: String

    func run() throws {
        let dump: EncoderLayerDump
        do {
            dump = try EncoderLayerDump.load(URL(fileURLWithPath: file))
        } catch {
            FileHandle.standardError.write(Data("spinel accuracy: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(EncoderLayerAccuracy(dump: dump).render())
    }
}
