import Testing
@testable import Conveyor

@Suite struct SchemaTests {
    @Test func rejectsDuplicateNames() {
        #expect(throws: ConveyorError.self) {
            try Schema([Field("a", .float32, shape: [1]), Field("a", .int32, shape: [1])])
        }
    }

    @Test func fieldSizes() throws {
        let field = Field("x", .float16, shape: [4, 3])
        #expect(field.maxRows == 4)
        #expect(field.bytesPerRow == 6)
        #expect(field.maxBytes == 24)
    }
}
