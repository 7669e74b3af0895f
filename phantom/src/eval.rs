//! The scorer: matches a report's findings to a phantom's truth and measures precision,
//! recall, localisation and size error per finding kind.
