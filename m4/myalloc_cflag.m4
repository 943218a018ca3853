# MYALLOC_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
# --------------------------------------------------------
# Run ACTION-IF-OK when the C compiler accepts FLAG without a warning
# (with -Werror, so that a flag the compiler only warns about is refused).
AC_DEFUN([MYALLOC_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([myalloc_cache], [myalloc_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [myalloc_cache], [
    myalloc_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[]], [[]])],
      [AS_VAR_SET([myalloc_cache], [yes])], [AS_VAR_SET([myalloc_cache], [no])])
    CFLAGS=$myalloc_save_CFLAGS])
  AS_VAR_IF([myalloc_cache], [yes], [$2], [$3])
  AS_VAR_POPDEF([myalloc_cache])
])
