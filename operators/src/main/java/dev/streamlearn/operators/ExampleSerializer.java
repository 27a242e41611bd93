package dev.streamlearn.operators;

import dev.streamlearn.core.data.Example;
import java.io.IOException;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Writes an {@link Example} field by field, without the reflection of Flink's POJO serializer:
 * examples cross two {@code keyBy}s, and serializing them was among the pipeline's top costs.
 */
public final class ExampleSerializer extends TypeSerializer<Example> {

  public static final ExampleSerializer INSTANCE = new ExampleSerializer();

  /** The type information to declare on streams of examples. */
  public static final TypeInformation<Example> TYPE = new ExampleType();

  /**
   * The last byte holds flags. It was the {@code labelOnly} boolean (0 or 1) before copies could
   * stop counting, so examples written then read as counting, which every one kept in state
   * (waiting for its label, before any copying) does.
   */
  private static final int LABEL_ONLY = 1;

  private static final int NOT_COUNTED = 2;

  @Override
  public boolean isImmutableType() {
    return false;
  }

  @Override
  public TypeSerializer<Example> duplicate() {
    return this;
  }

  @Override
  public Example createInstance() {
    return new Example();
  }

  @Override
  public Example copy(Example from) {
    Example to = new Example();
    to.id = from.id;
    to.timestamp = from.timestamp;
    to.label = from.label;
    to.weight = from.weight;
    to.numeric = from.numeric == null ? null : from.numeric.clone();
    to.categorical = from.categorical == null ? null : from.categorical.clone();
    to.partition = from.partition;
    to.offset = from.offset;
    to.ingestTime = from.ingestTime;
    to.candidate = from.candidate;
    to.labelOnly = from.labelOnly;
    to.countsEvent = from.countsEvent;
    return to;
  }

  @Override
  public Example copy(Example from, Example reuse) {
    return copy(from);
  }

  @Override
  public int getLength() {
    return -1;
  }

  @Override
  public void serialize(Example record, DataOutputView target) throws IOException {
    StringValue.writeString(record.id, target);
    target.writeLong(record.timestamp);
    target.writeDouble(record.label);
    target.writeFloat(record.weight);
    target.writeInt(record.numeric.length);
    for (double value : record.numeric) {
      target.writeDouble(value);
    }
    target.writeInt(record.categorical.length);
    for (String value : record.categorical) {
      StringValue.writeString(value, target);
    }
    target.writeInt(record.partition);
    target.writeLong(record.offset);
    target.writeLong(record.ingestTime);
    target.writeInt(record.candidate);
    target.writeByte((record.labelOnly ? LABEL_ONLY : 0) | (record.countsEvent ? 0 : NOT_COUNTED));
  }

  @Override
  public Example deserialize(DataInputView source) throws IOException {
    Example record = new Example();
    record.id = StringValue.readString(source);
    record.timestamp = source.readLong();
    record.label = source.readDouble();
    record.weight = source.readFloat();
    record.numeric = new double[source.readInt()];
    for (int i = 0; i < record.numeric.length; i++) {
      record.numeric[i] = source.readDouble();
    }
    record.categorical = new String[source.readInt()];
    for (int i = 0; i < record.categorical.length; i++) {
      record.categorical[i] = StringValue.readString(source);
    }
    record.partition = source.readInt();
    record.offset = source.readLong();
    record.ingestTime = source.readLong();
    record.candidate = source.readInt();
    int flags = source.readUnsignedByte();
    record.labelOnly = (flags & LABEL_ONLY) != 0;
    record.countsEvent = (flags & NOT_COUNTED) == 0;
    return record;
  }

  @Override
  public Example deserialize(Example reuse, DataInputView source) throws IOException {
    return deserialize(source);
  }

  @Override
  public void copy(DataInputView source, DataOutputView target) throws IOException {
    serialize(deserialize(source), target);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ExampleSerializer;
  }

  @Override
  public int hashCode() {
    return ExampleSerializer.class.hashCode();
  }

  @Override
  public TypeSerializerSnapshot<Example> snapshotConfiguration() {
    return new Snapshot();
  }

  /** Restores the serializer from a checkpoint or savepoint. */
  public static final class Snapshot extends SimpleTypeSerializerSnapshot<Example> {
    public Snapshot() {
      super(() -> INSTANCE);
    }
  }

  private static final class ExampleType extends TypeInformation<Example> {
    @Override
    public boolean isBasicType() {
      return false;
    }

    @Override
    public boolean isTupleType() {
      return false;
    }

    @Override
    public int getArity() {
      return 1;
    }

    @Override
    public int getTotalFields() {
      return 1;
    }

    @Override
    public Class<Example> getTypeClass() {
      return Example.class;
    }

    @Override
    public boolean isKeyType() {
      return false;
    }

    @Override
    public TypeSerializer<Example> createSerializer(SerializerConfig config) {
      return INSTANCE;
    }

    @Override
    public String toString() {
      return "Example";
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof ExampleType;
    }

    @Override
    public int hashCode() {
      return ExampleType.class.hashCode();
    }

    @Override
    public boolean canEqual(Object other) {
      return other instanceof ExampleType;
    }
  }
}
