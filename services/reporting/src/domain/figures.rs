//! Counters summed into the figures of a period. Handling time comes from integer working-day
//! histograms, so its percentiles are exact.

use std::collections::BTreeMap;

use super::state::Dimension;
use super::{Month, MonthRange};

/// One stored counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    pub month: Month,
    pub department: String,
    pub dimension: Dimension,
    pub value: String,
    pub count: i64,
}

/// Counts per category code, sorted by code; zero counts left out.
pub type Counts = BTreeMap<String, i64>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub received: i64,
    pub by_department: Counts,
    pub by_request_type: Counts,
    pub by_complaint_theme: Counts,
    pub by_requester_kind: Counts,
    pub by_arrival_channel: Counts,
    pub by_eligibility_outcome: Counts,
    pub by_referral_target: Counts,
    pub by_closing_outcome: Counts,
    pub criticism: i64,
    pub by_handling_method: Counts,
    pub answered: i64,
    pub deadline_met: i64,
    pub deadline_breached: i64,
    pub share_within_deadline: Option<f64>,
    pub median_handling_working_days: Option<i32>,
    pub p90_handling_working_days: Option<i32>,
    pub overdue: i64,
    pub mediations_by_stage: Counts,
    pub mediations_by_result: Counts,
    pub improvement_suggestions_by_department: Counts,
}

/// met / (met + breached), or `None` when no clock stopped.
pub fn share(met: i64, breached: i64) -> Option<f64> {
    let total = met + breached;
    (total > 0).then(|| met as f64 / total as f64)
}

/// The nearest-rank `percent` percentile of a histogram (value → how many): the smallest value
/// with at least `percent` % of the observations at or below it. `None` when it is empty.
pub fn percentile(histogram: &BTreeMap<i32, i64>, percent: u32) -> Option<i32> {
    let total: i64 = histogram.values().filter(|c| **c > 0).sum();
    if total == 0 {
        return None;
    }
    let rank = ((i64::from(percent) * total + 99) / 100).max(1);
    let mut seen = 0;
    for (value, count) in histogram {
        seen += (*count).max(0);
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.keys().next_back().copied()
}

/// The figures of the counters in `rows` (already limited to a period and department).
pub fn figures<'a>(rows: impl IntoIterator<Item = &'a CounterRow>) -> Figures {
    let mut figures = Figures::default();
    let mut histogram: BTreeMap<i32, i64> = BTreeMap::new();
    for row in rows {
        let value = row.value.clone();
        let add = |counts: &mut Counts| *counts.entry(value.clone()).or_insert(0) += row.count;
        match row.dimension {
            Dimension::Received => {
                figures.received += row.count;
                *figures
                    .by_department
                    .entry(row.department.clone())
                    .or_insert(0) += row.count;
            }
            Dimension::RequestType => add(&mut figures.by_request_type),
            Dimension::ComplaintTheme => add(&mut figures.by_complaint_theme),
            Dimension::RequesterKind => add(&mut figures.by_requester_kind),
            Dimension::ArrivalChannel => add(&mut figures.by_arrival_channel),
            Dimension::EligibilityOutcome => add(&mut figures.by_eligibility_outcome),
            Dimension::ReferralTarget => add(&mut figures.by_referral_target),
            Dimension::ClosingOutcome => {
                add(&mut figures.by_closing_outcome);
                if row.value == "criticism" || row.value == "partial_criticism" {
                    figures.criticism += row.count;
                }
            }
            Dimension::HandlingMethod => add(&mut figures.by_handling_method),
            Dimension::MediationStage => add(&mut figures.mediations_by_stage),
            Dimension::MediationResult => add(&mut figures.mediations_by_result),
            Dimension::Answered => figures.answered += row.count,
            Dimension::Overdue => figures.overdue += row.count,
            Dimension::DeadlineResult => match row.value.as_str() {
                "met" => figures.deadline_met += row.count,
                "breached" => figures.deadline_breached += row.count,
                _ => {}
            },
            Dimension::HandlingDays => {
                if let Ok(days) = row.value.parse::<i32>() {
                    *histogram.entry(days).or_insert(0) += row.count;
                }
            }
            Dimension::ImprovementSuggestion => {
                *figures
                    .improvement_suggestions_by_department
                    .entry(row.department.clone())
                    .or_insert(0) += row.count;
            }
        }
    }
    for counts in [
        &mut figures.by_department,
        &mut figures.by_request_type,
        &mut figures.by_complaint_theme,
        &mut figures.by_requester_kind,
        &mut figures.by_arrival_channel,
        &mut figures.by_eligibility_outcome,
        &mut figures.by_referral_target,
        &mut figures.by_closing_outcome,
        &mut figures.by_handling_method,
        &mut figures.mediations_by_stage,
        &mut figures.mediations_by_result,
        &mut figures.improvement_suggestions_by_department,
    ] {
        counts.retain(|_, count| *count != 0);
    }
    figures.share_within_deadline = share(figures.deadline_met, figures.deadline_breached);
    figures.median_handling_working_days = percentile(&histogram, 50);
    figures.p90_handling_working_days = percentile(&histogram, 90);
    figures
}

/// A period's figures beside the previous period's.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub period: MonthRange,
    pub current: Figures,
    pub previous_period: MonthRange,
    pub previous: Figures,
}

/// Splits counters covering `period` and the one before it into the two periods' figures.
pub fn compare(rows: &[CounterRow], period: MonthRange) -> Comparison {
    let previous_period = period.previous();
    Comparison {
        period,
        current: figures(rows.iter().filter(|r| period.contains(r.month))),
        previous_period,
        previous: figures(rows.iter().filter(|r| previous_period.contains(r.month))),
    }
}

/// One month of the trend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendPoint {
    pub received: i64,
    pub answered: i64,
    pub overdue: i64,
    pub deadline_met: i64,
    pub deadline_breached: i64,
}

impl TrendPoint {
    pub fn share_within_deadline(&self) -> Option<f64> {
        share(self.deadline_met, self.deadline_breached)
    }
}

/// The monthly series per department and in total, every month of `period` present.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub period: MonthRange,
    pub departments: BTreeMap<String, Vec<(Month, TrendPoint)>>,
    pub total: Vec<(Month, TrendPoint)>,
}

pub fn trend(rows: &[CounterRow], period: MonthRange) -> Trend {
    let mut cells: BTreeMap<(String, Month), TrendPoint> = BTreeMap::new();
    let mut departments = std::collections::BTreeSet::new();
    for row in rows.iter().filter(|r| period.contains(r.month)) {
        let slot: fn(&mut TrendPoint) -> &mut i64 = match row.dimension {
            Dimension::Received => |p: &mut TrendPoint| &mut p.received,
            Dimension::Answered => |p: &mut TrendPoint| &mut p.answered,
            Dimension::Overdue => |p: &mut TrendPoint| &mut p.overdue,
            Dimension::DeadlineResult if row.value == "met" => {
                |p: &mut TrendPoint| &mut p.deadline_met
            }
            Dimension::DeadlineResult if row.value == "breached" => {
                |p: &mut TrendPoint| &mut p.deadline_breached
            }
            _ => continue,
        };
        departments.insert(row.department.clone());
        for department in [row.department.clone(), String::new()] {
            *slot(cells.entry((department, row.month)).or_default()) += row.count;
        }
    }
    let series = |department: &str| {
        period
            .months()
            .map(|month| {
                let point = cells
                    .get(&(department.to_owned(), month))
                    .cloned()
                    .unwrap_or_default();
                (month, point)
            })
            .collect::<Vec<_>>()
    };
    Trend {
        period,
        total: series(""),
        departments: departments
            .into_iter()
            .map(|department| {
                let months = series(&department);
                (department, months)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(m: u32) -> Month {
        Month::new(2026, m).expect("month")
    }

    fn row(
        m: Month,
        department: &str,
        dimension: Dimension,
        value: &str,
        count: i64,
    ) -> CounterRow {
        CounterRow {
            month: m,
            department: department.into(),
            dimension,
            value: value.into(),
            count,
        }
    }

    #[test]
    fn percentiles_are_exact_nearest_ranks_of_the_histogram() {
        // 1, 2, 2, 3, 10, 10, 10, 12, 15, 40
        let histogram: BTreeMap<i32, i64> =
            [(1, 1), (2, 2), (3, 1), (10, 3), (12, 1), (15, 1), (40, 1)].into();
        assert_eq!(percentile(&histogram, 50), Some(10));
        assert_eq!(percentile(&histogram, 90), Some(15));
        assert_eq!(percentile(&histogram, 100), Some(40));
        assert_eq!(percentile(&histogram, 1), Some(1));
        assert_eq!(percentile(&BTreeMap::new(), 50), None);
        // With an even count the median is the lower middle value.
        let pair: BTreeMap<i32, i64> = [(4, 1), (8, 1)].into();
        assert_eq!(percentile(&pair, 50), Some(4));
    }

    #[test]
    fn figures_add_up_by_category_and_count_criticism_in_whole_or_in_part() {
        let rows = vec![
            row(month(1), "social", Dimension::Received, "", 3),
            row(month(1), "children", Dimension::Received, "", 2),
            row(
                month(1),
                "social",
                Dimension::ClosingOutcome,
                "criticism",
                1,
            ),
            row(
                month(1),
                "children",
                Dimension::ClosingOutcome,
                "partial_criticism",
                1,
            ),
            row(
                month(1),
                "social",
                Dimension::ClosingOutcome,
                "no_criticism",
                2,
            ),
            row(month(2), "social", Dimension::DeadlineResult, "met", 3),
            row(month(2), "social", Dimension::DeadlineResult, "breached", 1),
            row(month(2), "social", Dimension::HandlingDays, "5", 3),
            row(month(2), "social", Dimension::HandlingDays, "20", 1),
            row(month(2), "social", Dimension::ImprovementSuggestion, "", 2),
            row(
                month(1),
                "children",
                Dimension::ComplaintTheme,
                "guidance",
                0,
            ),
        ];
        let figures = figures(&rows);
        assert_eq!(figures.received, 5);
        assert_eq!(figures.by_department["social"], 3);
        assert_eq!(figures.criticism, 2);
        assert_eq!(figures.by_closing_outcome.len(), 3);
        assert_eq!(figures.share_within_deadline, Some(0.75));
        assert_eq!(figures.median_handling_working_days, Some(5));
        assert_eq!(figures.p90_handling_working_days, Some(20));
        assert_eq!(figures.improvement_suggestions_by_department["social"], 2);
        assert!(
            figures.by_complaint_theme.is_empty(),
            "zero counts left out"
        );
    }

    #[test]
    fn the_previous_period_is_counted_beside_the_current_one() {
        let rows = vec![
            row(month(1), "social", Dimension::Received, "", 4),
            row(month(4), "social", Dimension::Received, "", 7),
            row(month(7), "social", Dimension::Received, "", 100),
        ];
        let quarter = MonthRange::new(month(4), month(6)).expect("range");
        let comparison = compare(&rows, quarter);
        assert_eq!(comparison.current.received, 7);
        assert_eq!(comparison.previous.received, 4);
        assert_eq!(
            comparison.previous_period,
            MonthRange::new(month(1), month(3)).expect("range")
        );
    }

    #[test]
    fn the_trend_has_every_month_per_department_and_in_total() {
        let rows = vec![
            row(month(1), "social", Dimension::Received, "", 4),
            row(month(3), "children", Dimension::Received, "", 2),
            row(month(3), "children", Dimension::DeadlineResult, "met", 1),
            row(
                month(3),
                "children",
                Dimension::DeadlineResult,
                "breached",
                1,
            ),
            row(month(3), "children", Dimension::Overdue, "", 1),
        ];
        let trend = trend(&rows, MonthRange::new(month(1), month(3)).expect("range"));
        assert_eq!(trend.total.len(), 3);
        assert_eq!(trend.total[0].1.received, 4);
        assert_eq!(trend.total[1].1, TrendPoint::default());
        assert_eq!(
            trend.departments["children"][2].1.share_within_deadline(),
            Some(0.5)
        );
        assert_eq!(trend.departments["children"][2].1.overdue, 1);
        assert_eq!(trend.departments.len(), 2);
    }
}
