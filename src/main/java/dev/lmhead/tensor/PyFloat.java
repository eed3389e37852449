package dev.lmhead.tensor;

/** Python's float arithmetic where lmhead must size things exactly as PyTorch code does. */
public final class PyFloat {
  private PyFloat() {}

  /**
   * {@code int(a // w**power)} with CPython's float floor division ({@code float_floor_div}: C fmod,
   * sign fix, floor, round-half-up of the quotient), e.g. PyTorch's adaptive softmax tail size
   * {@code in_features // (div_value ** (i + 1))}; saturates at Integer.MAX_VALUE.
   */
  public static int floorDivPow(int a, double w, int power) {
    double d = Math.pow(w, power);
    double x = a;
    double mod = x % d;             // C fmod, as CPython's float_floor_div
    double div = (x - mod) / d;
    if (mod != 0 && (d < 0) != (mod < 0)) div -= 1.0;
    double floor = Math.floor(div);
    if (div - floor > 0.5) floor += 1.0;
    return floor > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) floor;
  }
}
