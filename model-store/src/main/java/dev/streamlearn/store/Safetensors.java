package dev.streamlearn.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors layout: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Python's and Rust's safetensors
 * readers open what this writes.
 */
public final class Safetensors {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_HEADER = 100L * 1024 * 1024;

  public static byte[] encode(List<Tensor> tensors, Map<String, String> metadata) {
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Tensor tensor : tensors) {
      ObjectNode entry = header.putObject(tensor.name());
      entry.put("dtype", "F32");
      var shape = entry.putArray("shape");
      for (long dimension : tensor.shape()) {
        shape.add(dimension);
      }
      long end = offset + 4L * tensor.data().length;
      entry.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] headerBytes = header.toString().getBytes(StandardCharsets.UTF_8);
    // The data must start 8-byte aligned: pad the header with spaces, as the reference writer does.
    int padded = (headerBytes.length + 7) / 8 * 8;
    ByteBuffer out = ByteBuffer.allocate(8 + padded + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(padded);
    out.put(headerBytes);
    for (int i = headerBytes.length; i < padded; i++) {
      out.put((byte) ' ');
    }
    for (Tensor tensor : tensors) {
      for (float value : tensor.data()) {
        out.putFloat(value);
      }
    }
    return out.array();
  }

  /** The {@code __metadata__} strings of a safetensors file; empty when it has none. */
  public static Map<String, String> metadata(byte[] bytes) throws IOException {
    long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (bytes.length < 8 || headerLength < 2 || 8 + headerLength > bytes.length) {
      throw new IOException("not a safetensors file");
    }
    JsonNode meta =
        JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8))
            .path("__metadata__");
    Map<String, String> values = new LinkedHashMap<>();
    meta.fields().forEachRemaining(entry -> values.put(entry.getKey(), entry.getValue().asText()));
    return values;
  }

  /** Reads every tensor, in file order. Only F32 tensors are supported. */
  public static Map<String, Tensor> decode(byte[] bytes) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 8) {
      throw new IOException("not a safetensors file: " + bytes.length + " bytes");
    }
    long headerLength = in.getLong();
    if (headerLength < 2 || headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
      throw new IOException("not a safetensors file: header length " + headerLength);
    }
    JsonNode header =
        JSON.readTree(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8));
    int dataStart = 8 + (int) headerLength;
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (!entry.getKey().equals("__metadata__")) {
        entries.add(entry);
      }
    }
    entries.sort(
        (a, b) ->
            Long.compare(
                a.getValue().get("data_offsets").get(0).asLong(),
                b.getValue().get("data_offsets").get(0).asLong()));
    for (Map.Entry<String, JsonNode> entry : entries) {
      JsonNode spec = entry.getValue();
      if (!"F32".equals(spec.path("dtype").asText())) {
        throw new IOException(
            "tensor "
                + entry.getKey()
                + " has dtype "
                + spec.path("dtype").asText()
                + "; only F32 is supported");
      }
      long[] shape = new long[spec.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = spec.get("shape").get(i).asLong();
      }
      long begin = spec.get("data_offsets").get(0).asLong();
      long end = spec.get("data_offsets").get(1).asLong();
      if (begin < 0 || end < begin || dataStart + end > bytes.length || (end - begin) % 4 != 0) {
        throw new IOException(
            "tensor " + entry.getKey() + " has bad data_offsets [" + begin + ", " + end + "]");
      }
      float[] data = new float[(int) ((end - begin) / 4)];
      ByteBuffer slice =
          ByteBuffer.wrap(bytes, dataStart + (int) begin, (int) (end - begin))
              .order(ByteOrder.LITTLE_ENDIAN);
      slice.asFloatBuffer().get(data);
      tensors.put(entry.getKey(), new Tensor(entry.getKey(), shape, data));
    }
    return tensors;
  }

  private Safetensors() {}
}
