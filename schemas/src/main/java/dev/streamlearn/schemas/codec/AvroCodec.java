package dev.streamlearn.schemas.codec;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes and decodes one record type with Avro single-object encoding: two marker bytes, the
 * writer schema's 64-bit fingerprint, then the binary record. The fingerprint lets a reader tell a
 * record of another schema from a malformed one, and resolve records written with an older or newer
 * version of the same schema once that version is registered with {@link #addWriterSchema}.
 */
public final class AvroCodec<T extends SpecificRecord> {

  private final Schema schema;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;

  public AvroCodec(Class<T> type) {
    SpecificData model = SpecificData.getForClass(type);
    this.schema = model.getSchema(type);
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema);
  }

  public Schema schema() {
    return schema;
  }

  /** Lets the decoder read records written with another version of the schema. */
  public AvroCodec<T> addWriterSchema(Schema writerSchema) {
    decoder.addSchema(writerSchema);
    return this;
  }

  public byte[] encode(T record) {
    try {
      ByteBuffer buffer = encoder.encode(record);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException e) {
      throw new AvroRuntimeException("cannot encode " + schema.getFullName(), e);
    }
  }

  /**
   * Decodes one record.
   *
   * @throws DecodeException with a sentence saying what is wrong with the bytes
   */
  public T decode(byte[] bytes) throws DecodeException {
    if (bytes == null) {
      throw new DecodeException("the record has no value (null payload)");
    }
    try {
      return decoder.decode(bytes);
    } catch (MissingSchemaException e) {
      throw new DecodeException(
          "written with a schema this pipeline does not know (not "
              + schema.getFullName()
              + " or a registered version of it): "
              + e.getMessage());
    } catch (BadHeaderException e) {
      throw new DecodeException(
          "not Avro single-object encoded " + schema.getFullName() + ": " + e.getMessage());
    } catch (IOException | RuntimeException e) {
      throw new DecodeException(
          "malformed "
              + schema.getFullName()
              + " ("
              + bytes.length
              + " bytes): "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
  }

  /** Why a record could not be decoded. */
  public static final class DecodeException extends Exception {
    public DecodeException(String reason) {
      super(reason);
    }
  }
}
