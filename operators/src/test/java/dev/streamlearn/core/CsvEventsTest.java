package dev.streamlearn.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamlearn.core.data.CsvEvents;
import dev.streamlearn.core.data.CsvReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvEventsTest {

  @TempDir Path directory;

  @Test
  void aStrayTextAmongNumericLabelsLeavesTheOthersNumbers() throws Exception {
    Path file = Files.writeString(directory.resolve("rows.csv"), "x,y\n1,0\n2,1\n3,n/a\n4,\n");
    CsvEvents inferred = new CsvEvents(CsvReader.read(file), "y");
    // Inferred from the column, one text makes every label a class name.
    assertThat(inferred.event(0, "r-", 0).getLabel()).isEqualTo("0");

    CsvEvents numbers = inferred.withNumbersForLabels();
    assertThat(numbers.event(0, "r-", 0).getLabel()).isEqualTo(0.0);
    assertThat(numbers.event(1, "r-", 0).getLabel()).isEqualTo(1.0);
    assertThat(numbers.event(2, "r-", 0).getLabel()).isEqualTo("n/a");
    assertThat(numbers.event(3, "r-", 0).getLabel()).isNull();
    assertThat(numbers.labelsThatAreNotNumbers()).containsExactly("n/a");
  }
}
