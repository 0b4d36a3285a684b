"""Huawei Cloud BSS-compatible API: its own listener, AK/SK signed like huaweicloudsdkbssintl."""
