import Testing
import SpinelHDL

// Expected values are worked out by hand (powers of two, digit patterns) or are well-known
// constants, never produced by the code under test.

/// 2^512 in decimal (155 digits).
private let twoTo512Decimal =
    "13407807929942597099574024998205846127479365820592393377723561443721764030073546976801874298166903427690031858186486050853753882811946569946433649006084096"

@Suite("BigInteger")
struct BigIntegerTests {
    // MARK: Parsing

    @Test func parsesDecimal() {
        #expect(BigInteger("0") == BigInteger(0))
        #expect(BigInteger("42") == BigInteger(42))
        #expect(BigInteger("-42") == BigInteger(-42))
        #expect(BigInteger("9223372036854775807") == BigInteger(Int.max))
        #expect(BigInteger("-9223372036854775808") == BigInteger(Int.min))
        #expect(BigInteger("18446744073709551615") == BigInteger(UInt64.max))
    }

    @Test func parsesOtherRadixes() {
        #expect(BigInteger("ff", radix: 16) == BigInteger(255))
        #expect(BigInteger("FF", radix: 16) == BigInteger(255))
        #expect(BigInteger("-80", radix: 16) == BigInteger(-128))
        #expect(BigInteger("101", radix: 2) == BigInteger(5))
        #expect(BigInteger("777", radix: 8) == BigInteger(511))
        #expect(BigInteger("z", radix: 36) == BigInteger(35))
        // 2^64 has 65 binary digits: a one and 64 zeros.
        #expect(BigInteger("1" + String(repeating: "0", count: 64), radix: 2) == BigInteger.powerOfTwo(64))
    }

    @Test func parsesUnderscoreSeparators() {
        #expect(BigInteger("1_000_000") == BigInteger(1_000_000))
        #expect(BigInteger("dead_beef", radix: 16) == BigInteger(0xdead_beef))
        #expect(BigInteger("-1_0", radix: 2) == BigInteger(-2))
    }

    @Test func rejectsMalformedText() {
        #expect(BigInteger("") == nil)
        #expect(BigInteger("_") == nil)
        #expect(BigInteger("-") == nil)
        #expect(BigInteger("12a") == nil)
        #expect(BigInteger("2", radix: 2) == nil)
        #expect(BigInteger("g", radix: 16) == nil)
        #expect(BigInteger("0x10", radix: 16) == nil)
        #expect(BigInteger("10", radix: 1) == nil)
        #expect(BigInteger("10", radix: 63) == nil)
        #expect(BigInteger("+5") == nil)
        // White space is not a separator (GMP alone would read " 1 2 " as 12).
        #expect(BigInteger(" 1 2 ") == nil)
        #expect(BigInteger("1 000") == nil)
        #expect(BigInteger("12\n") == nil)
        #expect(BigInteger("\t-7") == nil)
    }

    // MARK: Printing

    @Test func printsInRadixes() {
        #expect(BigInteger(255).toString(radix: 16) == "ff")
        #expect(BigInteger(255).toString(radix: 2) == "11111111")
        #expect(BigInteger(-255).toString(radix: 16) == "-ff")
        #expect(BigInteger(0).toString(radix: 16) == "0")
        #expect(BigInteger(0).toString() == "0")
        #expect(BigInteger(-1).toString() == "-1")
        #expect(BigInteger(511).toString(radix: 8) == "777")
        #expect(BigInteger(35).toString(radix: 36) == "z")
        #expect(BigInteger(1_000_000).description == "1000000")
        #expect(BigInteger.powerOfTwo(64).toString(radix: 16) == "1" + String(repeating: "0", count: 16))
        #expect(BigInteger.powerOfTwo(64).toString() == "18446744073709551616")
    }

    @Test func parseAndPrintRoundTrip() {
        for text in ["0", "1", "-1", "123456789012345678901234567890", "-340282366920938463463374607431768211456"] {
            #expect(BigInteger(text)?.toString() == text)
        }
        let hex = "1234567890abcdef1234567890abcdef1234567890abcdef"
        #expect(BigInteger(hex, radix: 16)?.toString(radix: 16) == hex)
    }

    // MARK: Arithmetic

    @Test func addsSubtractsAndMultiplies() {
        #expect(BigInteger(2) + BigInteger(3) == BigInteger(5))
        #expect(BigInteger(2) - BigInteger(3) == BigInteger(-1))
        #expect(BigInteger(-4) * BigInteger(6) == BigInteger(-24))
        #expect(-BigInteger(7) == BigInteger(-7))
        #expect(-BigInteger(0) == BigInteger(0))
        // Carries beyond 64 bits: (2^64 - 1) + 1 = 2^64.
        #expect(BigInteger(UInt64.max) + .one == BigInteger("18446744073709551616"))
        // 2^64 · 2^64 = 2^128.
        let twoTo64 = BigInteger.powerOfTwo(64)
        #expect(twoTo64 * twoTo64 == BigInteger("340282366920938463463374607431768211456"))
        // 10^20 · 10^20 = 10^40.
        let tenTo20 = BigInteger("1" + String(repeating: "0", count: 20))!
        #expect((tenTo20 * tenTo20).toString() == "1" + String(repeating: "0", count: 40))
        // Int.min - 1 borrows below the Int range.
        #expect(BigInteger(Int.min) - .one == BigInteger("-9223372036854775809"))
        // One operand used on both sides.
        let x = BigInteger(12345)
        #expect(x * x == BigInteger(152_399_025))
        #expect(x - x == .zero)
    }

    @Test func bitwiseOperationsUseTwosComplement() {
        #expect(BigInteger(0b1100) & BigInteger(0b1010) == BigInteger(0b1000))
        #expect(BigInteger(0b1100) | BigInteger(0b1010) == BigInteger(0b1110))
        #expect(BigInteger(0b1100) ^ BigInteger(0b1010) == BigInteger(0b0110))
        // -1 is all ones: AND keeps the other operand.
        #expect(BigInteger(-1) & BigInteger(0xabc) == BigInteger(0xabc))
        // -16 is ...110000: AND with 0xff keeps 0xf0.
        #expect(BigInteger(-16) & BigInteger(0xff) == BigInteger(0xf0))
    }

    @Test func comparesAndHashes() {
        #expect(BigInteger(-3) < BigInteger(2))
        #expect(BigInteger.powerOfTwo(100) > BigInteger(Int.max))
        #expect(-BigInteger.powerOfTwo(100) < BigInteger(Int.min))
        let set: Set<BigInteger> = [BigInteger(5), BigInteger("5")!, BigInteger(2) + BigInteger(3)]
        #expect(set.count == 1)
        #expect(BigInteger(7).signum == 1 && BigInteger(-7).signum == -1 && BigInteger(0).signum == 0)
        #expect(BigInteger(-7).isNegative && !BigInteger(0).isNegative && BigInteger(0).isZero)
    }

    @Test func convertsToMachineIntegers() {
        #expect(BigInteger(-5).intValue == -5)
        #expect(BigInteger(Int.max).intValue == Int.max)
        #expect(BigInteger.powerOfTwo(63).intValue == nil)
        #expect(BigInteger(-1).low64 == UInt64.max)
        #expect(BigInteger(0x1234).low64 == 0x1234)
        // 2^64 + 5: the low 64 bits are 5.
        #expect((BigInteger.powerOfTwo(64) + BigInteger(5)).low64 == 5)
        #expect(BigInteger(-2).low64 == UInt64.max - 1)
    }

    @Test func magnitudeBitWidth() {
        #expect(BigInteger(0).magnitudeBitWidth == 0)
        #expect(BigInteger(1).magnitudeBitWidth == 1)
        #expect(BigInteger(255).magnitudeBitWidth == 8)
        #expect(BigInteger(256).magnitudeBitWidth == 9)
        #expect(BigInteger(-128).magnitudeBitWidth == 8)
        #expect(BigInteger.powerOfTwo(200).magnitudeBitWidth == 201)
    }

    // MARK: Shifts

    @Test func shiftsLeft() {
        #expect(BigInteger(1) << 0 == BigInteger(1))
        #expect(BigInteger(3) << 4 == BigInteger(48))
        #expect(BigInteger(1) << 100 == BigInteger("1267650600228229401496703205376"))
        #expect(BigInteger(-3) << 2 == BigInteger(-12))
        #expect(BigInteger.powerOfTwo(70) == BigInteger("1180591620717411303424"))
    }

    @Test func shiftsRightArithmetically() {
        #expect(BigInteger(48) >> 4 == BigInteger(3))
        #expect(BigInteger(5) >> 1 == BigInteger(2))
        // Flooring: -5 / 2 = -2.5 rounds down to -3; -1 stays -1 however far it is shifted.
        #expect(BigInteger(-5) >> 1 == BigInteger(-3))
        #expect(BigInteger(-1) >> 100 == BigInteger(-1))
        #expect(BigInteger(1) >> 100 == BigInteger(0))
        #expect(BigInteger.powerOfTwo(100) >> 99 == BigInteger(2))
        // (1 - 2^70) / 2^64 = -63.99… rounds down to -64.
        #expect((BigInteger.one - .powerOfTwo(70)) >> 64 == BigInteger(-64))
    }

    // MARK: Truncation and sign extension

    @Test func truncates() {
        #expect(BigInteger(0x1ff).truncated(toBits: 8) == BigInteger(0xff))
        #expect(BigInteger(256).truncated(toBits: 8) == BigInteger(0))
        #expect(BigInteger(-1).truncated(toBits: 8) == BigInteger(255))
        #expect(BigInteger(-128).truncated(toBits: 8) == BigInteger(128))
        #expect(BigInteger(-1).truncated(toBits: 0) == BigInteger(0))
        #expect(BigInteger(-1).truncated(toBits: 100) == BigInteger.powerOfTwo(100) - .one)
        // -2^100 in 104 bits: 2^104 - 2^100 = 0xf followed by 25 zero digits.
        #expect((-BigInteger.powerOfTwo(100)).truncated(toBits: 104).toString(radix: 16) == "f" + String(repeating: "0", count: 25))
    }

    @Test func signExtends() {
        #expect(BigInteger(255).signExtended(fromBits: 8) == BigInteger(-1))
        #expect(BigInteger(128).signExtended(fromBits: 8) == BigInteger(-128))
        #expect(BigInteger(127).signExtended(fromBits: 8) == BigInteger(127))
        #expect(BigInteger(0x1ff).signExtended(fromBits: 8) == BigInteger(-1))
        #expect(BigInteger(0x17f).signExtended(fromBits: 8) == BigInteger(127))
        #expect(BigInteger(1).signExtended(fromBits: 1) == BigInteger(-1))
        #expect(BigInteger(5).signExtended(fromBits: 0) == BigInteger(0))
        #expect(BigInteger(-3).signExtended(fromBits: 8) == BigInteger(-3))
        // The 65-bit pattern 1 followed by 64 zeros is -2^64.
        #expect(BigInteger.powerOfTwo(64).signExtended(fromBits: 65) == -BigInteger.powerOfTwo(64))
    }

    // MARK: Words

    @Test func assemblesFromWords() {
        #expect(BigInteger(words: []) == BigInteger(0))
        #expect(BigInteger(words: [7]) == BigInteger(7))
        // 0x1_ffff_ffff = 2^33 - 1.
        #expect(BigInteger(words: [0xffff_ffff, 1]) == BigInteger(8_589_934_591))
        #expect(BigInteger(words: [0, 0, 1]) == BigInteger.powerOfTwo(64))
        #expect(BigInteger(words: [0x89ab_cdef, 0x0123_4567]) == BigInteger(0x0123_4567_89ab_cdef))
    }

    @Test func splitsIntoWords() {
        #expect(BigInteger(0).words(count: 2) == [0, 0])
        #expect(BigInteger(0x0123_4567_89ab_cdef).words(count: 3) == [0x89ab_cdef, 0x0123_4567, 0])
        #expect(BigInteger(-1).words(count: 2) == [0xffff_ffff, 0xffff_ffff])
        #expect(BigInteger(-2).words(count: 3) == [0xffff_fffe, 0xffff_ffff, 0xffff_ffff])
        // Only the low 32·count bits are kept.
        #expect((BigInteger.powerOfTwo(64) + BigInteger(9)).words(count: 1) == [9])
        #expect(BigInteger(5).words(count: 0) == [])
    }

    @Test func wordsRoundTrip() {
        let words: [UInt32] = [0xdead_beef, 0, 0x8000_0000, 0x1234_5678, 1]
        #expect(BigInteger(words: words).words(count: words.count) == words)
        #expect(BigInteger(words: words).toString(radix: 16) == "1" + "12345678" + "80000000" + "00000000" + "deadbeef")
    }

    // MARK: Wide values

    @Test func wide512BitValue() {
        let twoTo512 = BigInteger.powerOfTwo(512)
        #expect(twoTo512.toString() == twoTo512Decimal)
        #expect(BigInteger(twoTo512Decimal) == twoTo512)
        let allOnes = twoTo512 - .one
        #expect(allOnes.toString(radix: 16) == String(repeating: "f", count: 128))
        #expect(allOnes.magnitudeBitWidth == 512)
        #expect(allOnes.words(count: 16) == Array(repeating: UInt32.max, count: 16))
        #expect(BigInteger(words: Array(repeating: UInt32.max, count: 16)) == allOnes)
        // 2^511 + 1: hex 8, 126 zeros, 1.
        let sparse = BigInteger.powerOfTwo(511) + .one
        #expect(sparse.toString(radix: 16) == "8" + String(repeating: "0", count: 126) + "1")
        #expect(sparse.testBit(511) && sparse.testBit(0) && !sparse.testBit(1) && !sparse.testBit(512))
        // As a 512-bit two's-complement pattern, 2^511 + 1 is -(2^511 - 1).
        #expect(sparse.signExtended(fromBits: 512) == -(BigInteger.powerOfTwo(511) - .one))
        #expect((-BigInteger.one).truncated(toBits: 512) == allOnes)
    }

    @Test func wide4096BitValue() {
        let allOnes = BigInteger(String(repeating: "f", count: 1024), radix: 16)!
        #expect(allOnes == BigInteger.powerOfTwo(4096) - .one)
        #expect(allOnes + .one == BigInteger.one << 4096)
        #expect(allOnes.magnitudeBitWidth == 4096)
        #expect(allOnes.testBit(4095) && !allOnes.testBit(4096))
        #expect(allOnes.words(count: 128) == Array(repeating: UInt32.max, count: 128))
        #expect(allOnes.toString(radix: 2) == String(repeating: "1", count: 4096))
        // 2^4096 - 1 has 1234 decimal digits; its leading and trailing digits are well known.
        let decimal = allOnes.toString()
        #expect(decimal.count == 1234)
        #expect(decimal.hasPrefix("1044388881413152506691752710716624382579"))
        #expect(decimal.hasSuffix("0781738033436090243804708340403154190335"))
        #expect(BigInteger(decimal) == allOnes)
        // All ones in 4096 bits is -1; shifting right by 4095 leaves the top bit.
        #expect(allOnes.signExtended(fromBits: 4096) == BigInteger(-1))
        #expect(allOnes >> 4095 == BigInteger.one)
        #expect(allOnes.truncated(toBits: 4095) == BigInteger.powerOfTwo(4095) - .one)
        #expect(allOnes.low64 == UInt64.max)
    }
}
