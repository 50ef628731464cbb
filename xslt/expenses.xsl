<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise expense bills (GLExport expenseBills) → Sage 50 UK purchase invoices, Zynk
  schema: Company/Suppliers/Supplier (one per member, A/C = the member's Vendor Nbr) and
  Company/Transactions/Transaction (one PurchaseInvoice split per expense line).

  * The splits of one bill are adjacent and share AccountReference, Reference (the bill id),
    SecondReference (the bill's key, CW-EXP-<id>) and date, so Sage groups them into one
    header, and two bills of one member on one day stay apart.
  * ConnectWise states each line gross with its VAT inside (taxAmount); Sage takes the net
    and the VAT as given (TaxAmount is always supplied).
  * Nominal and tax codes come from the mapping tables in pipelines.yaml.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:key name="bill-by-member" match="/cwsage/export/expenseBills/item" use="member/id"/>

  <xsl:template match="/cwsage">
    <Company>
      <Suppliers>
        <xsl:apply-templates select="export/vendors/item[count(key('bill-by-member', member/id)) &gt; 0]"/>
      </Suppliers>
      <Transactions>
        <xsl:apply-templates select="export/expenseBills/item/detail/item[number(total) != 0]"/>
      </Transactions>
    </Company>
  </xsl:template>

  <!-- A member with expenses → a Sage supplier -->
  <xsl:template match="vendors/item">
    <xsl:variable name="bill" select="key('bill-by-member', member/id)[1]"/>
    <Supplier>
      <Id><xsl:value-of select="concat('CW-MEM-', member/id)"/></Id>
      <AccountReference><xsl:call-template name="upper"><xsl:with-param name="value" select="$bill/vendorNumber"/></xsl:call-template></AccountReference>
      <CompanyName><xsl:call-template name="text"><xsl:with-param name="value" select="member/name"/></xsl:call-template></CompanyName>
      <Currency><xsl:value-of select="($bill/currency/currencyCode | $bill/currency/isoCode)[1]"/></Currency>
      <xsl:if test="string(number(dueDays)) != 'NaN'"><PaymentDays><xsl:value-of select="dueDays"/></PaymentDays></xsl:if>
    </Supplier>
  </xsl:template>

  <!-- An expense line → one split of the bill's purchase invoice -->
  <xsl:template match="detail/item">
    <xsl:variable name="bill" select="../.."/>
    <Transaction>
      <Id><xsl:value-of select="(id/item | id[not(item)])[1]"/></Id>
      <TransactionType>PurchaseInvoice</TransactionType>
      <AccountReference><xsl:call-template name="upper"><xsl:with-param name="value" select="$bill/vendorNumber"/></xsl:call-template></AccountReference>
      <TransactionDate><xsl:call-template name="date"><xsl:with-param name="value" select="$bill/documentDate"/></xsl:call-template></TransactionDate>
      <DueDate><xsl:call-template name="date"><xsl:with-param name="value" select="$bill/documentDate"/></xsl:call-template></DueDate>
      <Reference><xsl:value-of select="substring(normalize-space($bill/id), 1, 10)"/></Reference>
      <SecondReference><xsl:value-of select="$bill/@key"/></SecondReference>
      <NominalCode><xsl:call-template name="lookup"><xsl:with-param name="table" select="'nominal_codes'"/><xsl:with-param name="code" select="accountNumber"/></xsl:call-template></NominalCode>
      <Details>
        <xsl:call-template name="text">
          <xsl:with-param name="value" select="concat(memo, ' - ', company/name)"/>
        </xsl:call-template>
      </Details>
      <NetAmount><xsl:value-of select="format-number(number(total) - number(taxAmount), '0.00')"/></NetAmount>
      <TaxCode><xsl:call-template name="lookup"><xsl:with-param name="table" select="'tax_codes'"/><xsl:with-param name="code" select="taxCodeXref"/></xsl:call-template></TaxCode>
      <TaxAmount><xsl:value-of select="format-number(number(taxAmount), '0.00')"/></TaxAmount>
      <Currency><xsl:value-of select="($bill/currency/currencyCode | $bill/currency/isoCode)[1]"/></Currency>
    </Transaction>
  </xsl:template>

</xsl:stylesheet>
