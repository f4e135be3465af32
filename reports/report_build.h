// Builds a report document from the inputs `xpusim report` read: the device comparison, the
// operator breakdowns and rooflines of run results, the numerics table, sweep fronts and
// validation errors. Sections appear only for the kinds of input given.
#pragma once

#include <string>
#include <vector>

#include "reports/report_document.h"
#include "reports/report_inputs.h"

namespace xpusim {

ReportDocument build_report(const ReportInputs& in, const std::string& title);

// The sections of each kind of input (report_run.cpp, report_sweep.cpp, report_validation.cpp).
void add_run_sections(const std::vector<ReportRun>& runs, ReportDocument& doc);
void add_numerics_section(const std::vector<ReportRun>& runs,
                          const std::vector<ReportNumerics>& numerics, ReportDocument& doc);
void add_sweep_sections(const std::vector<ReportSweep>& sweeps, ReportDocument& doc);
void add_validation_sections(const std::vector<ReportValidation>& validations, ReportDocument& doc);

// Shared formatting: a number with 4 significant digits, "" for none.
std::string report_number(double v);

}  // namespace xpusim
