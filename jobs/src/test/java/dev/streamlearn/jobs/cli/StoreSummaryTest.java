package dev.streamlearn.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StoreSummaryTest {

  @Test
  void countsVersionsInWordsThatAgreeWithTheNumber() {
    assertThat(StoreSummary.versionsAndRange(List.of())).isEqualTo("no versions");
    assertThat(StoreSummary.versionsAndRange(List.of(7L))).isEqualTo("1 version (7)");
    assertThat(StoreSummary.versionsAndRange(List.of(3L, 4L, 9L))).isEqualTo("3 versions (3..9)");
  }
}
