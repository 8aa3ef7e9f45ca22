"""Month-end forecast (run rate and day of week) and spike arithmetic, hand-computed."""

from datetime import date, timedelta
from decimal import Decimal

from alerts.forecast import month_end_forecast
from alerts.spikes import find_spikes, judge

D = Decimal


def days(start: date, amounts) -> dict[date, Decimal]:
    return {start + timedelta(days=n): D(a) for n, a in enumerate(amounts) if a is not None}


class TestForecast:
    def test_mid_month_run_rate(self):
        # November: 30 days. 22 complete days at $10, today (the 23rd) $4 so far.
        daily = days(date(2026, 11, 1), [10] * 22 + [4])

        result = month_end_forecast(daily, date(2026, 11, 23))

        assert result.actual == D("224")
        # 22 x 10 + 10 x (30 - 22) = 300 (22 days hold every weekday 3 times: the weekday rates,
        # all 10, say the same)
        assert result.forecast == D("300.00")
        assert result.complete_days == 22

    def test_first_day_of_the_month_has_no_forecast(self):
        result = month_end_forecast({date(2026, 12, 1): D("7")}, date(2026, 12, 1))

        assert (result.actual, result.forecast, result.complete_days) == (D("7"), None, 0)

    def test_second_day_uses_the_first(self):
        daily = {date(2026, 12, 1): D("12.40"), date(2026, 12, 2): D("3")}

        result = month_end_forecast(daily, date(2026, 12, 2))

        # 12.40 + 12.40 x 30 = 384.40 (December: 31 days)
        assert result.forecast == D("384.40")

    def test_a_missing_day_is_unknown_not_zero(self):
        # February 2026 (28 days); the 5th has no data; today is the 10th.
        amounts = [20, 20, 20, 20, None, 20, 20, 20, 20]
        daily = days(date(2026, 2, 1), amounts)

        result = month_end_forecast(daily, date(2026, 2, 10))

        # 8 complete days with data, $160: rate 20; 160 + 20 x (28 - 8) = 560.
        assert result.forecast == D("560.00")
        assert result.actual == D("160")

    def test_days_of_other_months_are_ignored(self):
        daily = {date(2026, 10, 31): D("999"), date(2026, 11, 1): D("5"), date(2026, 11, 2): D("1")}

        result = month_end_forecast(daily, date(2026, 11, 2))

        # Far from two full weeks of history: the run rate, of this month's days only.
        assert result.actual == D("6")
        assert result.forecast == D("150.00")  # 5 + 5 x 29


def weekly(start: date, end: date, rates: dict[int, str]) -> dict[date, Decimal]:
    """Every day START..END (inclusive) at RATES[its weekday] (Monday 0 ... Sunday 6)."""
    return {
        start + timedelta(days=n): D(rates[(start + timedelta(days=n)).weekday()])
        for n in range((end - start).days + 1)
    }


WEEKDAYS_100_WEEKENDS_40 = {0: "100", 1: "100", 2: "100", 3: "100", 4: "100", 5: "40", 6: "40"}


class TestForecastByDayOfWeek:
    def test_cheaper_weekends_are_not_projected_at_the_weekday_rate(self):
        # June 2026 starts on a Monday and has 30 days; today is Friday the 5th. The 28 complete
        # days before it (8 May - 4 June) cost $150 on weekdays and $60 at weekends.
        rates = {0: "150", 1: "150", 2: "150", 3: "150", 4: "150", 5: "60", 6: "60"}
        daily = weekly(date(2026, 5, 8), date(2026, 6, 4), rates)
        daily[date(2026, 6, 5)] = D("70")  # today, still arriving

        result = month_end_forecast(daily, date(2026, 6, 5))

        # 1-4 June: 4 x 150 = 600 spent. The other 26 days (5-30 June) are 18 weekdays and 8
        # weekend days (6, 7, 13, 14, 20, 21, 27, 28): 600 + 18 x 150 + 8 x 60 = 3,780.
        # (The run rate of the four weekdays would say 600 + 150 x 26 = 4,500.)
        assert result.forecast == D("3780.00")
        assert result.actual == D("670")
        assert result.method == "day of week"
        assert result.complete_days == 4

    def test_each_day_of_the_week_has_its_own_rate_from_the_last_four_weeks(self):
        # Today is Monday 16 November 2026 (November: 30 days, starting on a Sunday). The last 28
        # complete days, 19 October - 15 November, hold four of each weekday: Mondays cost 180,
        # 220, 180, 220 (a rate of 200), Tuesday-Friday 100, weekends 50. Tuesday 10 November
        # has no data, and 18 October (29 days back) is older than the four weeks.
        daily = weekly(date(2026, 10, 19), date(2026, 11, 15), WEEKDAYS_100_WEEKENDS_40)
        for day in daily:
            if day.weekday() >= 5:
                daily[day] = D("50")
        for monday, amount in zip((19, 26, 2, 9), ("180", "220", "180", "220"), strict=True):
            daily[date(2026, 10 if monday > 15 else 11, monday)] = D(amount)
        del daily[date(2026, 11, 10)]
        daily[date(2026, 10, 18)] = D("999")

        result = month_end_forecast(daily, date(2026, 11, 16))

        # Spent 1-15 November (14 days with data): Sundays 1, 8, 15 and Saturdays 7, 14 at 50
        # (250), Mondays 2 and 9 (180 + 220 = 400), 7 Tuesday-Fridays at 100 (700): 1,350.
        # The 16 other days at their weekday's rate: the missing Tuesday 10th (100), Mondays 16,
        # 23, 30 (3 x 200 = 600), 17-20 and 24-27 (8 x 100 = 800), 21, 22, 28, 29 (4 x 50 =
        # 200). 1,350 + 100 + 600 + 800 + 200 = 3,050.
        assert result.forecast == D("3050.00")
        assert result.complete_days == 14
        assert result.weekday_rates == (D(200), D(100), D(100), D(100), D(100), D(50), D(50))

    def test_the_first_of_the_month_is_forecast_from_the_weeks_before_it(self):
        # Tuesday 1 December 2026: no complete day this month, but the four weeks before it
        # (3-30 November) cost 100 on weekdays and 40 at weekends.
        daily = weekly(date(2026, 11, 3), date(2026, 11, 30), WEEKDAYS_100_WEEKENDS_40)
        daily[date(2026, 12, 1)] = D("12")

        result = month_end_forecast(daily, date(2026, 12, 1))

        # December 2026 (31 days) has 8 weekend days (5, 6, 12, 13, 19, 20, 26, 27) and 23
        # weekdays: 23 x 100 + 8 x 40 = 2,620.
        assert result.forecast == D("2620.00")
        assert (result.actual, result.complete_days) == (D("12"), 0)

    def test_less_than_two_full_weeks_falls_back_to_the_run_rate(self):
        # Costs since 1 November 2026 only; today is Saturday the 14th. The 13 complete days
        # hold a single Saturday (the 7th): not two of every weekday.
        daily = weekly(date(2026, 11, 1), date(2026, 11, 13), WEEKDAYS_100_WEEKENDS_40)

        result = month_end_forecast(daily, date(2026, 11, 14))

        # 10 weekdays x 100 + 3 weekend days (1, 7, 8) x 40 = 1,120 over 13 days; the run rate
        # 1,120 / 13 over the 17 other days: 1,120 + 17 x 1,120 / 13 = 1,120 x 30 / 13
        # = 2,584.615...
        assert result.forecast == D("2584.62")
        assert result.method == "run rate"
        assert result.weekday_rates is None

    def test_a_weekday_seen_once_in_four_weeks_falls_back_to_the_run_rate(self):
        # Four weeks of history before Monday 16 November 2026, but three of its four Wednesdays
        # (21 October, 28 October, 4 November) are missing: a sync gap.
        daily = weekly(date(2026, 10, 19), date(2026, 11, 15), WEEKDAYS_100_WEEKENDS_40)
        for day in (date(2026, 10, 21), date(2026, 10, 28), date(2026, 11, 4)):
            del daily[day]

        result = month_end_forecast(daily, date(2026, 11, 16))

        # 1-15 November without the 4th: 9 weekdays x 100 + 5 weekend days x 40 = 1,100 over 14
        # days; 1,100 + 16 x 1,100 / 14 = 1,100 x 30 / 14 = 2,357.142...
        assert result.forecast == D("2357.14")
        assert result.method == "run rate"

    def test_the_evidence_names_the_method_and_the_rates(self):
        daily = weekly(date(2026, 11, 3), date(2026, 11, 30), WEEKDAYS_100_WEEKENDS_40)

        evidence = month_end_forecast(daily, date(2026, 12, 1)).evidence()

        assert evidence["forecast_month_end"] == "2620.00"
        assert evidence["weekday_rates"] == (
            "Mon $100.00, Tue $100.00, Wed $100.00, Thu $100.00, Fri $100.00, Sat $40.00, "
            "Sun $40.00"
        )
        assert "day of week" in evidence["method"]


class TestSpikes:
    DAY = date(2026, 11, 22)

    def baseline(self, amounts, today_amount):
        daily = {self.DAY - timedelta(days=n + 1): D(a) for n, a in enumerate(amounts)}
        daily[self.DAY] = D(today_amount)
        return daily

    def test_steady_service_doubling_is_a_spike(self):
        spike, middle, threshold = judge(self.baseline([100] * 14, 200), self.DAY)

        # MAD 0: the 50% floor decides: 100 + 50 = 150 < 200.
        assert (spike, middle, threshold) == (True, D(100), D(150))

    def test_noisy_service_within_its_spread_is_not(self):
        amounts = [80, 120] * 7  # median 100, MAD 20, spread 29.652, 3 spreads 88.956
        spike, _, threshold = judge(self.baseline(amounts, 180), self.DAY)

        assert spike is False
        assert threshold == D("188.9560")

    def test_small_increases_are_not_spikes(self):
        spike, _, _ = judge(self.baseline([2] * 14, 9), self.DAY)

        assert spike is False  # +$7 is below the $10 floor

    def test_one_earlier_spike_does_not_raise_the_baseline(self):
        amounts = [100] * 13 + [5000]
        spike, middle, _ = judge(self.baseline(amounts, 300), self.DAY)

        assert (spike, middle) == (True, D(100))

    def test_missing_days_count_as_zero_spend(self):
        series = {("111111111111", "Amazon S3"): {self.DAY: D(50)}}

        (found,) = find_spikes(series, self.DAY)

        assert (found.service, found.baseline_median, found.increase) == ("Amazon S3", 0, 50)
