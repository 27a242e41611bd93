package dev.streamlearn.core.data;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.util.Utf8;

/**
 * Reads a {@code LabeledEvent} written with this build's own schema straight into an {@link
 * Example}: field values go into the example's arrays as they are read, with no map, no boxed
 * doubles and no strings for feature names. The same rules as {@link ExampleExtractor} apply to
 * every value. Records written with any other schema are left to the general path ({@link #canRead}
 * is false).
 */
public final class DirectEventDecoder {

  private static final byte[] HEADER = {(byte) 0xC3, (byte) 0x01};
  private static final long FINGERPRINT =
      SchemaNormalization.parsingFingerprint64(LabeledEvent.getClassSchema());
  private static final int HEADER_LENGTH = 10;

  private final ExampleExtractor extractor;
  private final Map<Utf8, Integer> slots = new HashMap<>();
  private final String[] names;
  private final boolean[] numeric;
  private final int[] index;
  private final int numericCount;
  private final int categoricalCount;
  private final Utf8 key = new Utf8();
  private final Utf8 text = new Utf8();
  private BinaryDecoder decoder;
  private String lastId;

  public DirectEventDecoder(PipelineSpec spec) {
    this.extractor = new ExampleExtractor(spec);
    List<PipelineSpec.Feature> features = spec.features();
    names = new String[features.size()];
    numeric = new boolean[features.size()];
    index = new int[features.size()];
    int numericSeen = 0;
    int categoricalSeen = 0;
    for (int i = 0; i < features.size(); i++) {
      PipelineSpec.Feature feature = features.get(i);
      names[i] = feature.name();
      numeric[i] = feature.isNumeric();
      index[i] = numeric[i] ? numericSeen++ : categoricalSeen++;
      slots.put(new Utf8(feature.name()), i);
    }
    numericCount = numericSeen;
    categoricalCount = categoricalSeen;
  }

  /** True when the bytes carry this build's LabeledEvent schema fingerprint. */
  public static boolean canRead(byte[] bytes) {
    return bytes != null
        && bytes.length >= HEADER_LENGTH
        && bytes[0] == HEADER[0]
        && bytes[1] == HEADER[1]
        && ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() == FINGERPRINT;
  }

  /** The id of the event read last, once it was read; null before. */
  public String lastId() {
    return lastId;
  }

  /**
   * @throws AvroCodec.DecodeException when the bytes are not a whole record
   * @throws ExampleExtractor.RefusedException when a value breaks the rules
   */
  public Example decode(byte[] bytes, int partition, long offset)
      throws AvroCodec.DecodeException, ExampleExtractor.RefusedException {
    lastId = null;
    decoder =
        DecoderFactory.get()
            .binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, decoder);
    Example example = new Example();
    example.partition = partition;
    example.offset = offset;
    example.numeric = new double[numericCount];
    Arrays.fill(example.numeric, Double.NaN);
    example.categorical = new String[categoricalCount];
    try {
      example.id = decoder.readString(text).toString();
      lastId = example.id;
      if (example.id.isBlank()) {
        throw new ExampleExtractor.RefusedException("event has an empty id");
      }
      example.timestamp = decoder.readLong();
      if (decoder.readIndex() == 1) {
        decoder.skipString();
      }
      Object label =
          switch (decoder.readIndex()) {
            case 0 -> null;
            case 1 -> decoder.readDouble();
            default -> decoder.readString(text).toString();
          };
      for (long n = decoder.readMapStart(); n > 0; n = decoder.mapNext()) {
        for (long i = 0; i < n; i++) {
          readFeature(example);
        }
      }
      Double weight = decoder.readIndex() == 1 ? decoder.readDouble() : null;
      example.weight = ExampleExtractor.weight(weight);
      example.label = extractor.labelIndex(label);
      return example;
    } catch (IOException | RuntimeException e) {
      throw new AvroCodec.DecodeException(
          "malformed "
              + LabeledEvent.getClassSchema().getFullName()
              + " ("
              + bytes.length
              + " bytes): "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
  }

  private void readFeature(Example example) throws IOException, ExampleExtractor.RefusedException {
    decoder.readString(key);
    Integer slot = slots.get(key);
    int branch = decoder.readIndex();
    if (slot == null) {
      skipValue(branch);
      return;
    }
    String name = names[slot];
    if (numeric[slot]) {
      example.numeric[index[slot]] =
          switch (branch) {
            case 0 -> Double.NaN;
            case 1 -> {
              double value = decoder.readDouble();
              if (!Double.isFinite(value)) {
                throw new ExampleExtractor.RefusedException("feature " + name + " is " + value);
              }
              yield value;
            }
            case 2 -> ExampleExtractor.numericValue(name, decoder.readString(text).toString());
            default -> decoder.readBoolean() ? 1.0 : 0.0;
          };
    } else {
      Object value =
          switch (branch) {
            case 0 -> null;
            case 1 -> decoder.readDouble();
            case 2 -> decoder.readString(text).toString();
            default -> decoder.readBoolean();
          };
      example.categorical[index[slot]] = ExampleExtractor.categoricalValue(name, value);
    }
  }

  private void skipValue(int branch) throws IOException {
    switch (branch) {
      case 1 -> decoder.readDouble();
      case 2 -> decoder.skipString();
      case 3 -> decoder.readBoolean();
      default -> {}
    }
  }
}
