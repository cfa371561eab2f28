"""Everything that writes paper: Word reports (情况通报/工作总结/简报), the 一人一案 case file, and their layout."""
