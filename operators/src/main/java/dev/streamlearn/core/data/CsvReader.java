package dev.streamlearn.core.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads a CSV file with a header row: comma-separated, double-quoted fields, "" for a quote. */
public final class CsvReader {

  /** A file's header and rows, every row as long as the header. */
  public record Table(List<String> header, List<List<String>> rows) {
    public int column(String name) {
      int index = header.indexOf(name);
      if (index < 0) {
        throw new IllegalArgumentException("no column '" + name + "'; the columns are " + header);
      }
      return index;
    }
  }

  public static Table read(Path file) throws IOException {
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String headerLine = reader.readLine();
      if (headerLine == null) {
        throw new IOException(file + " is empty; a header row is needed");
      }
      List<String> header = parseLine(headerLine.replace("\uFEFF", ""));
      List<List<String>> rows = new ArrayList<>();
      String line;
      int lineNumber = 1;
      while ((line = reader.readLine()) != null) {
        lineNumber++;
        if (line.isBlank()) {
          continue;
        }
        List<String> row = parseLine(line);
        if (row.size() != header.size()) {
          throw new IOException(
              file
                  + " line "
                  + lineNumber
                  + " has "
                  + row.size()
                  + " fields; the header has "
                  + header.size());
        }
        rows.add(row);
      }
      return new Table(header, rows);
    }
  }

  public static List<String> parseLine(String line) {
    List<String> fields = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quoted) {
        if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
          field.append('"');
          i++;
        } else if (c == '"') {
          quoted = false;
        } else {
          field.append(c);
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.add(field.toString());
        field.setLength(0);
      } else {
        field.append(c);
      }
    }
    fields.add(field.toString());
    return fields;
  }

  private CsvReader() {}
}
