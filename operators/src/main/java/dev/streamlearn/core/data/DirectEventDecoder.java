package dev.streamlearn.core.data;

import dev.streamlearn.core.spec.PipelineSpec;
import dev.streamlearn.schemas.LabeledEvent;
import dev.streamlearn.schemas.codec.AvroCodec;
import java.io.IOException;
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

  private static final long FINGERPRINT =
      SchemaNormalization.parsingFingerprint64(LabeledEvent.getClassSchema());

  private final ExampleExtractor extractor;
  private final RawFeatures rules;
  private final Map<Utf8, Integer> slots = new HashMap<>();
  private final Object[] raw;
  private final double[] numbers;

  /**
   * The key met last at each position of the features map, and its slot: events from one producer
   * list their fields in the same order, so a byte comparison usually replaces the hash lookup.
   */
  private Utf8[] keyAt = new Utf8[0];

  private int[] slotAt = new int[0];
  private int position;
  private final Utf8 key = new Utf8();
  private final Utf8 text = new Utf8();
  private BinaryDecoder decoder;
  private String lastId;

  public DirectEventDecoder(PipelineSpec spec) {
    this.extractor = new ExampleExtractor(spec);
    this.rules = extractor.rules();
    List<String> fields = rules.fieldNames();
    for (int i = 0; i < fields.size(); i++) {
      slots.put(new Utf8(fields.get(i)), i);
    }
    raw = new Object[fields.size()];
    numbers = new double[fields.size()];
  }

  /** True when the bytes carry this build's LabeledEvent schema fingerprint. */
  public static boolean canRead(byte[] bytes) {
    return SingleObjectHeader.present(bytes)
        && SingleObjectHeader.fingerprint(bytes) == FINGERPRINT;
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
            .binaryDecoder(
                bytes,
                SingleObjectHeader.LENGTH,
                bytes.length - SingleObjectHeader.LENGTH,
                decoder);
    Example example = new Example();
    example.partition = partition;
    example.offset = offset;
    example.numeric = new double[rules.numericCount()];
    example.categorical = new String[rules.categoricalCount()];
    Arrays.fill(raw, null);
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
      position = 0;
      for (long n = decoder.readMapStart(); n > 0; n = decoder.mapNext()) {
        for (long i = 0; i < n; i++) {
          readFeature();
        }
      }
      Double weight = decoder.readIndex() == 1 ? decoder.readDouble() : null;
      example.weight = ExampleExtractor.weight(weight);
      example.label = extractor.labelIndex(label);
      rules.fill(raw, numbers, example.timestamp, example.numeric, example.categorical);
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

  private void readFeature() throws IOException, ExampleExtractor.RefusedException {
    decoder.readString(key);
    int slot = slotOf(position++);
    int branch = decoder.readIndex();
    if (slot < 0) {
      rules.unknownField(key.toString());
      skipValue(branch);
      return;
    }
    switch (branch) {
      case 0 -> raw[slot] = null;
      case 1 -> {
        numbers[slot] = decoder.readDouble();
        raw[slot] = RawFeatures.NUMBER;
      }
      case 2 -> raw[slot] = decoder.readString(text).toString();
      default -> raw[slot] = decoder.readBoolean();
    }
  }

  /** The slot of the key just read, -1 for a field no feature reads. */
  private int slotOf(int at) {
    if (at < keyAt.length && key.equals(keyAt[at])) {
      return slotAt[at];
    }
    Integer slot = slots.get(key);
    if (at >= keyAt.length) {
      keyAt = Arrays.copyOf(keyAt, Math.max(16, 2 * (at + 1)));
      slotAt = Arrays.copyOf(slotAt, keyAt.length);
    }
    keyAt[at] = new Utf8(key);
    slotAt[at] = slot == null ? -1 : slot;
    return slotAt[at];
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
